"""A generative model in a process of its own: the model side's loop there, its client here.

In the server's process the model's Python shares the GIL with the event loop's work for every
chunk (framing, the socket write), and at 64 streams it waited ~2 ms per step for it
(bench/generate.md). Here the model has a process, an interpreter and a GIL to itself: it runs
`Batch.advance` back to back, reads joins and leaves between two steps without waiting for the
server, and answers the calls the server needs (predict for /predict and the canary, health, the
OpenAI API's chat_prompt and prompt_tokens) between two steps too, so the model is still only
ever called from one thread. The model is loaded once, in the child.

Messages are pickled over two one-way pipes. Server -> model: lists of `Join`, `Leave`, `Call`,
or `None` to stop. Model -> server: `Ready` or `Failed` once, then `Report`s and `Reply`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError
from dockyard.runtime.batching import Outcome
from dockyard.runtime.contract import GenerationParams, GenerativeModel, Signature, signature_of
from dockyard.runtime.generate.batch import Batch, Event, Join, Message, Report
from dockyard.runtime.generate.stepper import stepper_for
from dockyard.runtime.loader import load_model_class, set_up
from dockyard.runtime.logs import configure_logging
from dockyard.runtime.runner import ModelRunner, classes_of, classifier_fields
from dockyard.spec import Spec

log = logging.getLogger("dockyard.generate")
CALLS = ("predict", "health", "chat_prompt", "prompt_tokens")
HEALTH_EVERY = 1.0  # seconds between two asks of the model's health() for readiness


@dataclass(frozen=True)
class Call:
    """Run one of the model's other methods between two steps; answered by a `Reply`."""

    ident: int
    name: str  # one of CALLS
    argument: Any = None


@dataclass(frozen=True)
class Reply:
    ident: int
    value: Any = None
    error: str = ""  # the exception, when the call raised


@dataclass(frozen=True)
class Ready:
    defaults: GenerationParams
    setup_seconds: float


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass(frozen=True)
class Launch:
    """What the child needs to load the model exactly as the server would."""

    spec: Spec
    root: str
    in_container: bool
    max_active: int
    log_level: str | None  # the server's, when it logs JSON lines; None leaves logging alone


# ---- the child -------------------------------------------------------------------------------
def child_main(launch: Launch, inbox: Connection, outbox: Connection) -> None:
    """The model process: load, say Ready (or Failed), then step and answer until told to stop."""
    # Ctrl-C reaches the whole process group and `docker stop` may signal it too: the server
    # drains first and then stops this process (or it sees the pipe close), never the reverse.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if launch.log_level is not None:
        configure_logging(launch.log_level, service=launch.spec.project.name)
    root = Path(launch.root)
    try:
        cls = load_model_class(launch.spec, root)
        model, seconds = set_up(launch.spec, root, cls, launch.in_container)
    except BaseException as exc:  # everything, so the server can say why it is not ready
        outbox.send(Failed(f"{type(exc).__name__}: {exc}"))
        return
    assert isinstance(model, GenerativeModel)
    signature = signature_of(type(model))
    runner = ModelRunner(model, signature, inline=False)
    outbox.send(Ready(model.default_params, seconds))
    _serve(model, runner, Batch(stepper_for(model, signature), launch.max_active), inbox, outbox)


def _serve(
    model: GenerativeModel[Any, Any, Any],
    runner: ModelRunner,
    batch: Batch,
    inbox: Connection,
    outbox: Connection,
) -> None:
    """Step while any sequence is live; between two steps take every message that came."""
    while True:
        messages: list[Message] = []
        wait = not batch.active and not batch.waiting
        while wait or inbox.poll():
            wait = False
            try:
                received = inbox.recv()
            except EOFError:  # the server is gone: nobody to generate for
                return
            if received is None:
                return
            for message in received:
                if isinstance(message, Call):
                    reply = _answer(model, runner, message)
                    if problem := _sent(outbox, reply):
                        outbox.send(Reply(reply.ident, error=problem))
                else:
                    messages.append(message)
        if messages or batch.active or batch.waiting:
            _step(batch, messages, outbox)


def _step(batch: Batch, messages: list[Message], outbox: Connection) -> None:
    """One step, reported; a chunk that will not pickle fails its own sequence only."""
    report = batch.advance(messages)
    problem = _sent(outbox, report)
    if not problem:
        return
    bad = {event.key for event in report.events if not _picklable(event)}
    batch.end(list(bad))
    events = [
        Event(e.key, produced=e.produced, end="error", error=problem) if e.key in bad else e
        for e in report.events
    ]
    outbox.send(replace(report, events=events, active=len(batch.active)))


def _sent(outbox: Connection, message: Reply | Report) -> str:
    """Send; "" when sent, else why it would not pickle (the model's output, a user type)."""
    try:
        outbox.send(message)
    except OSError:
        raise
    except Exception as exc:
        return f"the model's output cannot be sent to the server: {type(exc).__name__}: {exc}"
    return ""


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _answer(model: GenerativeModel[Any, Any, Any], runner: ModelRunner, call: Call) -> Reply:
    try:
        if call.name == "predict":
            return Reply(call.ident, runner.run_sync(call.argument))
        if call.name == "health":
            return Reply(call.ident, bool(model.health()))
        if call.name == "chat_prompt":
            return Reply(call.ident, model.chat_prompt(call.argument))
        if call.name == "prompt_tokens":
            return Reply(call.ident, model.prompt_tokens(call.argument))
        return Reply(call.ident, error=f"unknown call {call.name!r}; expected one of {CALLS}")
    except Exception as exc:
        return Reply(call.ident, error=f"{type(exc).__name__}: {exc}")


# ---- the server's side -----------------------------------------------------------------------
class ModelProcess:
    """The running child, seen from the event loop: send messages, await calls, get reports."""

    def __init__(self, launch: Launch) -> None:
        context = multiprocessing.get_context("spawn")  # fork would copy the server's threads
        self._inbox, self._to_child = context.Pipe(duplex=False)
        self._from_child, self._outbox = context.Pipe(duplex=False)
        self.process = context.Process(
            target=child_main,
            args=(launch, self._inbox, self._outbox),
            name="dockyard-model",
            daemon=True,
        )
        self.on_report: Callable[[Report], None] = lambda report: None
        self.on_refused: Callable[[int, str], None] = lambda key, reason: None  # a lost Join
        self.exit_hooks: list[Callable[[str], None]] = []  # called once, with the reason
        self._pending: list[Message | Call] = []
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._idents = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[Ready] | None = None
        self.exited = False

    async def start(self) -> Ready:
        """Spawn the child and wait until its model is set up; DockyardError when it failed."""
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        await asyncio.to_thread(self.process.start)
        self._inbox.close()  # the child's ends: ours would keep its pipes open after it exits
        self._outbox.close()
        threading.Thread(target=self._read, name="dockyard-model-reader", daemon=True).start()
        return await self._ready

    def send(self, message: Message | Call) -> None:
        """Queue a message; everything queued in one loop iteration goes in one write."""
        if not self._pending:
            assert self._loop is not None
            self._loop.call_soon(self._flush)
        self._pending.append(message)

    async def call(self, name: str, argument: Any = None) -> Any:
        """Run a model method in the child between two steps; its exception as DockyardError."""
        if self.exited:
            raise DockyardError("the model process has exited")
        assert self._loop is not None
        ident = next(self._idents)
        future = self._calls[ident] = self._loop.create_future()
        self.send(Call(ident, name, argument))
        return await future

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the child to stop, then make sure it did."""
        if self.process.pid is None:
            return
        if not self.exited:
            with contextlib.suppress(OSError):
                self._to_child.send(None)
        await asyncio.to_thread(self.process.join, timeout)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join, 5)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self.exited:
            return
        try:
            self._to_child.send(pending)
        except OSError:  # the child died; the reader reports why
            return
        except Exception:  # something would not pickle: find it, send the others
            for message in pending:
                try:
                    self._to_child.send([message])
                except OSError:
                    return
                except Exception as exc:
                    self._refuse(message, f"cannot be sent to the model process: {exc}")

    def _refuse(self, message: Message | Call, reason: str) -> None:
        if isinstance(message, Call):
            future = self._calls.pop(message.ident, None)
            if future is not None and not future.done():
                future.set_exception(DockyardError(f"{message.name}: {reason}"))
        elif isinstance(message, Join):
            self.on_refused(message.key, f"the input {reason}")

    def _read(self) -> None:
        """On a thread of its own: each message to the event loop, in order."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop closed (shutdown): nobody to tell
            while True:
                try:
                    message = self._from_child.recv()
                except (EOFError, OSError):
                    break
                self._loop.call_soon_threadsafe(self._dispatch, message)
            self._loop.call_soon_threadsafe(self._exited)

    def _dispatch(self, message: Any) -> None:
        if isinstance(message, Report):
            self.on_report(message)
        elif isinstance(message, Reply):
            future = self._calls.pop(message.ident, None)
            if future is not None and not future.done():
                if message.error:
                    future.set_exception(DockyardError(message.error))
                else:
                    future.set_result(message.value)
        elif isinstance(message, (Ready, Failed)) and self._ready is not None:
            if isinstance(message, Ready):
                self._ready.set_result(message)
            else:
                self._ready.set_exception(DockyardError(message.reason))

    def _exited(self) -> None:
        self.exited = True
        code = self.process.exitcode
        reason = "the model process exited" + (f" with code {code}" if code else "")
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(DockyardError(reason))
        for future in self._calls.values():
            if not future.done():
                future.set_exception(DockyardError(reason))
        self._calls.clear()
        for hook in self.exit_hooks:
            hook(reason)


class ProcessRunner:
    """The service's runner when the model is in its own process: each call goes to the child."""

    def __init__(
        self, process: ModelProcess, signature: Signature, defaults: GenerationParams
    ) -> None:
        self.process, self.signature, self.defaults = process, signature, defaults
        self.classifier = classifier_fields(signature.output_type)
        self._healthy = True
        self._checked = time.monotonic()
        self._check: asyncio.Task[None] | None = None

    async def run(self, items: list[Any]) -> list[Outcome]:
        """Predict `items` in the child (its runner isolates the inputs that make it raise)."""
        outcomes: list[Outcome] = await self.process.call("predict", items)
        return outcomes

    def classes_of(self, values: list[Any]) -> tuple[list[object], list[float]]:
        return classes_of(self.classifier, values)

    def health(self) -> bool:
        """The model's health() as last seen; asked again at most every HEALTH_EVERY seconds.

        Readiness probes call this synchronously, so the answer is the child's last one (a
        probe never waits behind a model step) and a fresh one is fetched in the background.
        """
        if self.process.exited:
            return False
        if time.monotonic() - self._checked > HEALTH_EVERY and self._check is None:
            self._check = asyncio.ensure_future(self._refresh())
        return self._healthy

    async def _refresh(self) -> None:
        try:
            self._healthy = bool(await self.process.call("health"))
        except DockyardError as exc:
            log.error("model health() failed", extra={"error": str(exc)})
            self._healthy = False
        finally:
            self._checked, self._check = time.monotonic(), None

    async def chat_prompt(self, messages: list[dict[str, str]]) -> Any:
        return await self.process.call("chat_prompt", messages)

    async def prompt_tokens(self, item: Any) -> int:
        return int(await self.process.call("prompt_tokens", item))
