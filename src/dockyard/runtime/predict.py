"""The prediction endpoints on the hot path: `/predict` and V2 `/v2/models/{name}/infer`.

They are plain ASGI callables rather than framework routes because they carry nearly all traffic:
every microsecond here is throughput (see bench/). Everything else is a Starlette route.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic_core import from_json, to_json

from dockyard.runtime.batching import ClientGone, QueueFull
from dockyard.runtime.finite import needs_token_check, refuse_non_finite
from dockyard.runtime.http import (
    HTTPError,
    Receive,
    Scope,
    Send,
    read_body,
    request_id_of,
    send_bytes,
)
from dockyard.runtime.lifecycle import State
from dockyard.runtime.limits import body_limit
from dockyard.runtime.runner import PredictionError
from dockyard.runtime.service import Service
from dockyard.runtime.v2 import (
    HEADER_LENGTH,
    TensorError,
    attach_binary,
    codec_for,
    decode_inputs,
    encode_outputs,
    pack_binary,
    split_binary,
    wants_binary,
)

log = logging.getLogger("dockyard.access")


Record = Callable[[str, Sequence[Any], Sequence[Any]], None]


def _no_record(request_id: str, items: Sequence[Any], values: Sequence[Any]) -> None:
    """Monitoring off: nothing recorded."""


class RequestTimeout(Exception):
    """The request's deadline (serving.timeout_s) passed before its outputs were ready."""


class PredictEndpoints:
    """Parses, queues, awaits and answers predictions; records metrics and the access log."""

    def __init__(
        self, service: Service, access_log: bool = True, record: Record = _no_record
    ) -> None:
        self.service = service
        self.access_log = access_log
        self.record = record  # monitoring: queues (request id, inputs, outputs), never blocks
        sig = service.signature
        # allow_inf_nan=False refuses NaN/Infinity inside pydantic-core (no per-request walk);
        # a field annotated AllowInfNan(True) keeps them. See finite.py for BaseModel inputs.
        request_model = create_model(
            "PredictRequest",
            __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
            inputs=(list[sig.input_type], ...),  # type: ignore[name-defined]
        )
        self.request: TypeAdapter[Any] = TypeAdapter(request_model)
        rows_model = create_model(
            "InferRows",
            __config__=ConfigDict(allow_inf_nan=False),
            rows=(list[sig.input_type], ...),  # type: ignore[name-defined]
        )
        self.rows: TypeAdapter[Any] = TypeAdapter(rows_model)
        self.check_tokens = needs_token_check(sig.input_type)
        self.expose_errors = service.spec.serving.expose_errors
        self.outputs = service.outputs_json
        self.in_codec = codec_for(sig.input_type, "input-0")
        self.out_codec = codec_for(sig.output_type, "output-0")
        self.timeout = service.spec.serving.timeout_s
        self.limit = body_limit(service.spec.serving, sig.input_type)

    # ---- /predict ----------------------------------------------------------------------------
    async def predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("/predict", scope, receive, send, self._predict)

    async def _predict(self, scope: Scope, receive: Receive, request_id: str) -> bytes:
        body = await read_body(scope, receive, self.limit)
        if self.check_tokens:
            refuse_non_finite(body)
        try:
            items = self.request.validate_json(body).inputs
        except ValidationError as exc:
            raise invalid(exc) from None
        values = await self._infer(items, receive, request_id)
        self.record(request_id, items, values)
        return b'{"outputs":' + self.outputs.dump_json(values) + b"}"

    # ---- V2 infer ----------------------------------------------------------------------------
    async def v2_infer(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._serve("/v2/models/{name}/infer", scope, receive, send, self._v2_infer)

    async def _v2_infer(self, scope: Scope, receive: Receive, request_id: str) -> bytes:
        if self.in_codec is None or self.out_codec is None:
            raise HTTPError(
                400,
                "unsupported",
                "this model's types cannot be expressed as V2 tensors; use /predict",
            )
        body = await read_body(scope, receive, self.limit)
        body, raw = _split(body, _header(scope, HEADER_LENGTH.encode()))
        try:
            request = from_json(body)
        except ValueError as exc:
            raise HTTPError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
        if not isinstance(request, dict):
            raise HTTPError(400, "invalid_request", "the body must be a JSON object with 'inputs'")
        try:
            attach_binary(request.get("inputs"), raw)
            rows = decode_inputs(self.in_codec, request.get("inputs"))
            items = self.rows.validate_python({"rows": rows}).rows
        except TensorError as exc:
            raise HTTPError(400, "invalid_tensor", str(exc)) from None
        except ValidationError as exc:
            raise invalid(exc) from None
        values = await self._infer(items, receive, request_id)
        self.record(request_id, items, values)
        dumped = self.outputs.dump_python(values, mode="json")
        wanted = {str(o.get("name")) for o in request.get("outputs") or [] if isinstance(o, dict)}
        try:
            outputs = encode_outputs(self.out_codec, dumped, wanted or None)
        except TensorError as exc:
            raise PredictionError(str(exc)) from exc
        response = {
            "model_name": self.service.spec.model_name,
            "model_version": self.service.spec.model.version,
            "outputs": outputs,
        }
        if "id" in request:
            response["id"] = request["id"]
        if not wants_binary(request):
            return to_json(response)
        trailer = pack_binary(outputs)
        header = to_json(response)
        scope["dockyard.headers"] = {HEADER_LENGTH: str(len(header))}
        return header + trailer

    # ---- shared ------------------------------------------------------------------------------
    async def _serve(
        self, route: str, scope: Scope, receive: Receive, send: Send, handler: Any
    ) -> None:
        started = time.perf_counter()
        request_id = request_id_of(scope)
        metrics = self.service.metrics
        metrics.inflight.inc()
        status, headers = 200, None
        try:
            ready, reason = self.service.readiness()
            # While draining, readiness is false so balancers stop sending, but what still
            # arrives is served until the batcher closes (then 503 "shutting down").
            if not ready and self.service.lifecycle.state is not State.DRAINING:
                raise HTTPError(503, "not_ready", reason, {"Retry-After": "1"})
            body = await handler(scope, receive, request_id)
        except HTTPError as exc:
            status, headers, body = exc.status, exc.headers, exc.body(request_id)
        except ClientGone:
            status, body = 499, b""
        except RequestTimeout:
            status, body = (
                504,
                HTTPError(
                    504, "timeout", f"no answer within {self.timeout}s (serving.timeout_s)"
                ).body(request_id),
            )
        except PredictionError as exc:
            log.error("prediction failed", extra={"request_id": request_id, "error": str(exc)})
            status, body = 500, self._failed(exc).body(request_id)
        finally:
            metrics.inflight.dec()
        if status != 499:  # nobody is listening to a gone client
            extra = scope.get("dockyard.headers") if status == 200 else None
            await send_bytes(send, status, body, request_id, headers or extra)
            if status == 200 and self.service.startup.first_answer is None:
                self.service.startup.answered()
        elapsed = time.perf_counter() - started
        metrics.requests.labels(route, "POST", str(status)).inc()
        metrics.latency.labels(route).observe(elapsed)
        if self.access_log:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": "POST",
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )

    def _failed(self, exc: PredictionError) -> HTTPError:
        """The model's exception text stays in the log unless serving.expose_errors is set."""
        message = (
            str(exc)
            if self.expose_errors
            else "the model failed on this input; the server log has the details under this "
            "request id"
        )
        return HTTPError(500, "prediction_failed", message)

    async def _infer(self, items: Sequence[Any], receive: Receive, request_id: str) -> list[Any]:
        """Queue inputs, wait for them within the deadline, and drop them if the client leaves."""
        try:
            futures = self.service.batcher.submit(items, request_id)
        except QueueFull as exc:
            self.service.metrics.rejected.labels("queue_full").inc(len(items))
            raise HTTPError(
                503,
                "overloaded",
                f"server is at capacity: {exc}; retry later",
                {"Retry-After": "1"},
            ) from None
        self.service.metrics.queue_depth.set(self.service.batcher.depth)
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(self.timeout, _fail, futures, RequestTimeout)
        watcher = loop.create_task(_watch_disconnect(receive, futures))
        try:
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        finally:
            deadline.cancel()
            watcher.cancel()
            for future in futures:  # after one input failed, the others are no longer wanted
                if not future.done():
                    future.cancel()


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary tensor data, by the binary extension's header."""
    if header_length is None:
        return body, b""
    try:
        return split_binary(body, int(header_length))
    except (TensorError, ValueError):
        raise HTTPError(
            400,
            "invalid_header",
            f"Inference-Header-Content-Length {header_length!r} is not a length within the body "
            f"({len(body)} bytes): send the byte length of the JSON part",
        ) from None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def invalid(exc: ValidationError) -> HTTPError:
    """400 for malformed JSON, 422 for JSON that does not match the schema, with the locations."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return HTTPError(400, "invalid_json", f"the body is not valid JSON: {errors[0]['msg']}")
    details = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors[:10]
    )
    return HTTPError(422, "invalid_input", details)


def _fail(futures: Sequence[asyncio.Future[Any]], error: type[Exception]) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error())


async def _watch_disconnect(receive: Receive, futures: Sequence[asyncio.Future[Any]]) -> None:
    """Fail the request's futures when the client disconnects, so the batcher skips its inputs."""
    message = await receive()
    if message["type"] == "http.disconnect":
        _fail(futures, ClientGone)
