"""The generation routes on the API service: /generate, /generate_stream and V2 generate.

The engine starts once the model is loaded. Its model side runs in the model's own process, or
on the model's thread here (`serving.executor = "thread"`); either way /predict is served
between two steps, so the model is never called from two threads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic_core import from_json, to_json
from starlette.routing import BaseRoute, Route

from dockyard.runtime.batching import QueueFull
from dockyard.runtime.contract import GenerationParams, GenerativeModel, join_chunks
from dockyard.runtime.generate import transport
from dockyard.runtime.generate.engine import Engine
from dockyard.runtime.generate.metrics import GenerationMetrics
from dockyard.runtime.generate.params import Parameters
from dockyard.runtime.generate.process import ProcessRunner
from dockyard.runtime.generate.sequence import GenerationFailed, Sequence
from dockyard.runtime.generate.stepper import stepper_for
from dockyard.runtime.http import (
    HTTPError,
    Receive,
    Scope,
    Send,
    read_body,
    request_id_of,
    send_bytes,
)
from dockyard.runtime.limits import body_limit
from dockyard.runtime.predict import invalid
from dockyard.runtime.service import Service

log = logging.getLogger("dockyard.generate")
ATTACH_POLL = 0.05
AsgiHandler = Callable[[Scope, Receive, Send], Awaitable[None]]


class GenerationService:
    """The engine of one generative model and the HTTP routes that feed it."""

    def __init__(self, service: Service) -> None:
        self.service = service
        serving = service.spec.serving
        self.metrics = GenerationMetrics(service.metrics.registry)
        self.engine = Engine(
            serving.max_batch_size,
            serving.queue_size,
            serving.timeout_s,
            self.metrics,
            expose_errors=serving.expose_errors,
        )
        sig = service.signature
        self.limit = body_limit(serving, sig.input_type)
        request = create_model(
            "GenerateRequest",
            __config__=ConfigDict(extra="forbid"),
            input=(sig.input_type, ...),
            parameters=(Parameters, Parameters()),
        )
        self.request: TypeAdapter[Any] = TypeAdapter(request)
        self.text = sig.chunk_type is str
        self.v2_key = "text_input" if sig.input_type is str else "input"
        self.v2_out = "text_output" if sig.chunk_type is str else "output"
        name = service.spec.model_name
        self.routes: list[BaseRoute] = [
            Route("/generate", _Asgi(self.whole), methods=["POST"]),
            Route("/generate_stream", _Asgi(self.streamed), methods=["POST"]),
            Route(f"/v2/models/{name}/generate", _Asgi(self.v2_whole), methods=["POST"]),
            Route(
                f"/v2/models/{name}/generate_stream",
                _Asgi(self.v2_streamed),
                methods=["POST"],
            ),
        ]
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def startup(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dockyard-generate")

    async def _run(self) -> None:
        """Wait for the model to load, then drive the engine on the model's thread."""
        while self.service.runner is None:
            await asyncio.sleep(ATTACH_POLL)
        runner = self.service.runner
        try:
            if isinstance(runner, ProcessRunner):
                await self.engine.run_remote(runner.process)
            else:
                assert isinstance(runner.model, GenerativeModel)
                stepper = stepper_for(runner.model, runner.signature)
                await self.engine.run(stepper, runner.executor)
        except Exception:  # a bug here must not leave clients waiting forever
            log.exception("the generation engine stopped")
            self.engine.close()
            self.engine.cancel_all("error")
            raise

    async def shutdown(self) -> None:
        """1. refuse new generations, 2. let running ones finish within grace, 3. cancel."""
        self.engine.close()
        if self._task is None:
            return
        if self.service.runner is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(self._task), self.service.spec.serving.graceful_timeout_s
                )
        self.engine.cancel_all("shutdown")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    # ---- submitting ------------------------------------------------------------------------
    @property
    def defaults(self) -> GenerationParams:
        runner = self.service.runner
        if isinstance(runner, ProcessRunner):
            return runner.defaults
        model = runner.model if runner is not None else None
        return model.default_params if isinstance(model, GenerativeModel) else GenerationParams()

    def submit(self, item: Any, params: GenerationParams, request_id: str) -> Sequence:
        """Queue one generation, or refuse: 503 while not ready or when the queue is full."""
        ready, reason = self.service.readiness()
        if not ready:
            raise HTTPError(503, "not_ready", reason, {"Retry-After": "1"})
        try:
            return self.engine.submit(item, params, request_id)
        except QueueFull as exc:
            self.service.metrics.rejected.labels("queue_full").inc()
            raise HTTPError(
                503, "overloaded", f"server is at capacity: {exc}", {"Retry-After": "1"}
            ) from None

    async def parse(self, scope: Scope, receive: Receive) -> tuple[Any, GenerationParams]:
        body = await read_body(scope, receive, self.limit)
        try:
            request = self.request.validate_json(body)
        except ValidationError as exc:
            raise invalid(exc) from None
        return request.input, _resolved(request.parameters, self.defaults)

    async def parse_v2(self, scope: Scope, receive: Receive) -> tuple[Any, GenerationParams]:
        body = await read_body(scope, receive, self.limit)
        try:
            request = from_json(body)
        except ValueError as exc:
            raise HTTPError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
        if not isinstance(request, dict) or self.v2_key not in request:
            raise HTTPError(422, "invalid_request", f'the body needs "{self.v2_key}"')
        try:
            item = self.service.signature.inputs.validate_python(request[self.v2_key])
            parameters = Parameters.model_validate(request.get("parameters") or {})
        except ValidationError as exc:
            raise invalid(exc) from None
        return item, _resolved(parameters, self.defaults)

    # ---- the four endpoints ----------------------------------------------------------------
    async def whole(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        """POST /generate: the whole output at once (still continuously batched)."""
        seq = self.submit(*await self.parse(scope, receive), rid)
        chunks = await _collected(self.engine, seq, receive)
        body = {
            "output": join_chunks(chunks, self.text),
            **transport.end_body(seq),
        }
        await send_bytes(send, 200, to_json(body), rid)

    async def streamed(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        """POST /generate_stream: SSE, or NDJSON when the client accepts it."""
        seq = self.submit(*await self.parse(scope, receive), rid)
        framing = transport.native(transport.wants(scope["headers"]))
        await transport.stream(self.engine, seq, framing, receive, send, rid)

    async def v2_whole(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        """POST /v2/models/{name}/generate (the V2 generate extension)."""
        seq = self.submit(*await self.parse_v2(scope, receive), rid)
        chunks = await _collected(self.engine, seq, receive)
        body = {
            **self._v2_head(),
            self.v2_out: join_chunks(chunks, self.text),
            **transport.end_body(seq),
        }
        await send_bytes(send, 200, to_json(body), rid)

    async def v2_streamed(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        """POST /v2/models/{name}/generate_stream: one SSE event per chunk."""
        seq = self.submit(*await self.parse_v2(scope, receive), rid)
        head = self._v2_head()
        framing = transport.Framing(
            transport.SSE,
            lambda c: transport.sse({**head, self.v2_out: c}),
            lambda s: transport.sse({**head, **transport.end_body(s)}, "end"),
            lambda e: transport.sse(transport.error_body(e), "error"),
        )
        await transport.stream(self.engine, seq, framing, receive, send, rid)

    def _v2_head(self) -> dict[str, str]:
        spec = self.service.spec
        return {"model_name": spec.model_name, "model_version": spec.model.version}


Endpoint = Callable[[Scope, Receive, Send, str], Awaitable[None]]


class _Asgi:
    """An endpoint as an ASGI app whose HTTPError refusals become JSON error responses."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid = request_id_of(scope)
        try:
            await self.endpoint(scope, receive, send, rid)
        except HTTPError as exc:
            if exc.status != 499:
                await send_bytes(send, exc.status, exc.body(rid), rid, exc.headers)


async def _collected(engine: Engine, seq: Sequence, receive: Receive) -> list[Any]:
    try:
        return await transport.collect(engine, seq, receive)
    except GenerationFailed as exc:
        status = 504 if exc.kind == "timeout" else 500
        raise HTTPError(status, exc.kind, exc.message) from None


def _resolved(parameters: Parameters, defaults: GenerationParams) -> GenerationParams:
    try:
        return parameters.resolve(defaults)
    except ValueError as exc:
        raise HTTPError(422, "invalid_input", f"parameters.stop: {exc}") from None
