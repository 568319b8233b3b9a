"""Serve an HTTP app with uvicorn in one process or several, and drain it on SIGTERM/SIGINT.

Shutdown, in order:
1. the first signal marks the app draining: /readyz answers 503, new work gets 503 + Retry-After;
2. requests in flight finish (up to `grace_s`);
3. uvicorn closes the socket and runs the lifespan shutdown (the app drains its queues);
4. the process exits 0. A second signal skips step 2; a third SIGINT forces the exit.
An app that reports itself `fatal()` (a failed model setup) ends the process with its reason
as a ModelError (exit 3) instead.
With several processes, the parent forwards the signal to each child and exits 0 once every
child has drained.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import uvicorn
from uvicorn.importer import import_from_string

from dockyard.errors import DockyardError, ModelError
from dockyard.runtime.entry.drain import DrainableApp, DrainGate
from dockyard.runtime.entry.fastpath import running
from dockyard.runtime.entry.tls import TlsFiles
from dockyard.runtime.logs import configure_logging

log = logging.getLogger("dockyard.entry")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
CRASH_LOOP_S = 5.0  # a child dying sooner than this after its start is not restarted


@dataclass(frozen=True)
class HttpOptions:
    """Where and how an HTTP process serves; filled at the edge from flags, env and spec."""

    host: str
    port: int
    service: str
    workers: int = 1
    grace_s: float = 30.0
    log_level: str = "info"
    backlog: int = 2048
    tls: TlsFiles | None = None  # serve HTTPS with these files (entry.tls)


AppFactory = Callable[[], DrainableApp]
Child = tuple[multiprocessing.process.BaseProcess, float]  # the process and when it started


def serve_http(factory: AppFactory | str, options: HttpOptions) -> int:
    """Build the app (after logging is set up), serve until a signal, drain, return 0.

    Several processes need `factory` as an import string ("module:function"): each child
    process builds its own app.
    """
    configure_logging(options.log_level, service=options.service)
    if options.workers > 1:
        if not isinstance(factory, str):
            raise TypeError("several processes need the app factory as an import string")
        return _Supervisor(factory, options).run()
    early = _hold_signals()
    _serve_one(_factory(factory)() if isinstance(factory, str) else factory(), options, early)
    return 0


def _hold_signals() -> list[int]:
    """Record a signal that comes while the app is built (imports, model class): the server
    drains as soon as it runs, rather than the process dying half-started."""
    early: list[int] = []
    for sig in SIGNALS:
        signal.signal(sig, lambda sig, _: early.append(sig))
    return early


def _factory(path: str) -> AppFactory:
    factory: AppFactory = import_from_string(path)
    return factory


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain phase between the signal and uvicorn's own shutdown."""

    def __init__(
        self, config: uvicorn.Config, gate: DrainGate, grace_s: float, early: list[int]
    ) -> None:
        super().__init__(config)
        self.gate, self.grace_s, self.early = gate, grace_s, early
        self.deadline: float | None = None
        self.fatal: str | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.deadline is not None:  # a second signal: stop waiting, let uvicorn shut down
            super().handle_exit(sig, frame)
            return
        self.deadline = time.monotonic() + self.grace_s
        self.gate.start()
        log.info("draining", extra={"signal": signal.Signals(sig).name, "pid": os.getpid()})

    async def on_tick(self, counter: int) -> bool:
        if self.early and self.deadline is None:
            self.handle_exit(self.early[0], None)
        drained = self.deadline is not None and (
            self.gate.idle or time.monotonic() >= self.deadline
        )
        if drained:
            log.info("drained", extra={"in_flight": self.gate.in_flight, "pid": os.getpid()})
            self.should_exit = True
        self.fatal = self.fatal or self.gate.app.fatal()
        if self.fatal is not None:
            self.should_exit = True
        return await super().on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        path = running(self.config.http_protocol_class)
        extra = {
            "loop": path.loop,
            "http": path.http,
            "pid": os.getpid(),
            "tls": self.config.is_ssl,
        }
        log.info("serving", extra=extra)
        if not path.fast:
            log.warning("serving on the slow path: install uvloop and httptools", extra=extra)


def _serve_one(
    app: DrainableApp,
    options: HttpOptions,
    early: list[int],
    sockets: list[socket.socket] | None = None,
) -> None:
    gate = DrainGate(app)
    config = uvicorn.Config(
        gate,
        host=options.host,
        port=options.port,
        access_log=False,  # each app writes its own structured access log
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=int(options.grace_s) or None,
        backlog=options.backlog,
        ssl_certfile=str(options.tls.cert) if options.tls else None,
        ssl_keyfile=str(options.tls.key) if options.tls else None,
    )
    server = DrainingServer(config, gate, options.grace_s, early)
    server.run(sockets)
    if server.fatal is not None:
        raise ModelError(f"the model could not start: {server.fatal}")


def _child(factory: str, options: HttpOptions, sock: socket.socket) -> None:
    """One server process of several: builds its own app and serves the shared socket."""
    configure_logging(options.log_level, service=options.service)
    early = _hold_signals()
    try:
        _serve_one(_factory(factory)(), options, early, [sock])
    except DockyardError as exc:
        log.error("server process stopped", extra={"error": str(exc)})
        sys.exit(exc.exit_code)


class _Supervisor:
    """Several server processes on one socket; restarts a child that dies while serving."""

    def __init__(self, factory: str, options: HttpOptions) -> None:
        self.factory, self.options = factory, options
        self.context = multiprocessing.get_context("spawn")
        self.stopping = False
        self.failed = False

    def run(self) -> int:
        sock = _bind(self.options)
        previous = {sig: signal.signal(sig, self._stop) for sig in SIGNALS}
        children: list[Child] = []
        try:
            children += [self._start(sock) for _ in range(self.options.workers)]
            log.info("serving with several processes", extra={"workers": len(children)})
            while not self.stopping and self._keep_alive(children, sock):
                time.sleep(0.2)
            # Each child drains on its own (its in-flight requests, its batch queue).
            for child, _ in children:
                if child.pid is not None and child.exitcode is None:
                    os.kill(child.pid, signal.SIGTERM)
            for child, _ in children:
                child.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
        codes = [child.exitcode for child, _ in children]
        log.info("stopped", extra={"exit_codes": codes})
        if ModelError.exit_code in codes:
            raise ModelError("the model could not start in a server process (see its log)")
        return 0 if all(code == 0 for code in codes) and not self.failed else 1

    def _stop(self, sig: int, _: FrameType | None) -> None:
        self.stopping = True

    def _start(self, sock: socket.socket) -> Child:
        child = self.context.Process(
            target=_child, args=(self.factory, self.options, sock), daemon=False
        )
        child.start()
        return child, time.monotonic()

    def _keep_alive(self, children: list[Child], sock: socket.socket) -> bool:
        """Restart children that died; False (stop everything) when one dies at start-up."""
        for i, (child, started) in enumerate(children):
            if child.exitcode is None:
                continue
            log.error("server process died", extra={"pid": child.pid, "code": child.exitcode})
            if time.monotonic() - started < CRASH_LOOP_S or child.exitcode == ModelError.exit_code:
                self.failed = True
                return False
            children[i] = self._start(sock)
        return True


def _bind(options: HttpOptions) -> socket.socket:
    config = uvicorn.Config("", host=options.host, port=options.port, backlog=options.backlog)
    return config.bind_socket()
