"""The router's ASGI app: inference POSTs forwarded on a plain ASGI path, the rest via Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.runtime.auth import Guard, rules
from dockyard.runtime.http import (
    HTTPError,
    Receive,
    Scope,
    Send,
    read_body,
    request_id_of,
    send_bytes,
)
from dockyard.runtime.monitor.status import status_routes
from dockyard.runtime.router.config import RouterConfig
from dockyard.runtime.router.control import Control
from dockyard.runtime.router.metrics import RouterMetrics
from dockyard.runtime.router.shadow import Shadow
from dockyard.runtime.router.table import RoutingTable
from dockyard.runtime.router.upstream import Answer, Upstreams
from dockyard.runtime.router.weights import WeightsError, WeightsFile

log = logging.getLogger("dockyard.access")

VERSION_HEADER = b"x-dockyard-version"
_OURS = (b"x-request-id", b"authorization", b"x-api-key")


class RouterApp:
    """Forwards each inference request to one version; admin routes and probes go to Starlette."""

    def __init__(self, config: RouterConfig) -> None:
        policy = config.policy
        self.config = config
        self.metrics = RouterMetrics()
        self.table = RoutingTable(
            {v.name: v.weight for v in policy.versions}, policy.balance, policy.seed
        )
        self.control = Control(self.table, self.metrics)
        self.upstreams = Upstreams(config.urls, policy.timeout_s)
        self.shadow = (
            Shadow(
                policy.shadow,
                self.upstreams,
                self.metrics,
                policy.shadow_tolerance,
                policy.shadow_fields,
                policy.shadow_concurrency,
            )
            if policy.shadow
            else None
        )
        self.draining = False
        self._sticky = policy.sticky_header.lower().encode() if policy.sticky_header else None
        self.routes = Starlette(
            routes=_Handlers(self).routes(),
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
        )
        self._guarded = Guard(self._serve, config.auth, rules.ROUTER, self.metrics.registry)
        self._upstream_auth = (
            [(b"authorization", b"Bearer " + config.upstream_key)] if config.upstream_key else []
        )

    def drain(self) -> None:
        """Readiness false for good: the process is shutting down."""
        self.draining = True

    def fatal(self) -> str | None:
        """Never: a failing version or stage is reported at /readyz, not by exiting."""
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._guarded(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and is_inference(scope["path"]):
            return await self.forward(scope, receive, send)
        await self.routes(scope, receive, send)

    # ---- the hot path ------------------------------------------------------------------------
    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with the chosen version's response, then mirror the request to the shadow."""
        started = time.perf_counter()
        request_id = request_id_of(scope)
        # the caller's key is for the router; the versions get the router's own (if it has one)
        dropped = _OURS if self._upstream_auth else (b"x-request-id",)
        headers = [(k, v) for k, v in scope["headers"] if k not in dropped]
        headers.append((b"x-request-id", request_id.encode()))
        headers.extend(self._upstream_auth)
        path = scope["path"]
        try:
            body = await read_body(scope, receive, self.config.max_body_bytes)
            name, answer = await self._answer(self._choose(scope), path, body, headers)
        except HTTPError as exc:
            self.metrics.rejected.labels(exc.kind).inc()
            await send_bytes(send, exc.status, exc.body(request_id), request_id, exc.headers)
            self._log(request_id, path, exc.status, None, started)
            return
        await _send_answer(send, answer, name)
        self.metrics.requests.labels(name, str(answer.status)).inc()
        self.metrics.latency.labels(name, "primary").observe(answer.seconds)
        self._log(request_id, path, answer.status, name, started)
        shadow = self.shadow
        if (
            shadow
            and answer.status == 200
            and name != shadow.name
            and self.table.is_up(shadow.name)
        ):
            shadow.mirror(name, path, body, headers, answer)

    def _choose(self, scope: Scope) -> str:
        key = None
        if self._sticky is not None:
            key = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == self._sticky), None
            )
        name = self.table.choose(key)
        if name is None:
            raise HTTPError(503, "no_version", "no version is ready to serve", {"Retry-After": "1"})
        return name

    async def _answer(
        self, name: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[str, Answer]:
        """Ask `name`; with `retry`, ask one other version after a 5xx or a broken connection.

        Predictions are idempotent, so a second try is safe; the failed attempt is still counted
        against its version, which is what a canary's error rate is judged on.
        """
        failed: HTTPError | Answer
        try:
            answer = await self._ask(name, path, body, headers)
            if answer.status < 500 or not self.config.policy.retry:
                return name, answer
            failed = answer
            self.metrics.requests.labels(name, str(answer.status)).inc()
        except HTTPError as exc:
            if exc.status != 502 or not self.config.policy.retry:
                raise
            failed = exc
            self.metrics.requests.labels(name, str(exc.status)).inc()
        other = self.table.fallback(name)
        if other is None:
            return name, await self._again(name, path, body, headers, failed)
        self.metrics.retries.labels(name, other).inc()
        return other, await self._ask(other, path, body, headers)

    async def _again(
        self,
        name: str,
        path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        failed: HTTPError | Answer,
    ) -> Answer:
        """The only version failed: when its replica was going away (draining 503, broken or
        refused connection), ask the version again over a new connection, which DNS sends to a
        replica still in service; a model's own error is not retried."""
        status = failed.status
        if status not in (502, 503):
            if isinstance(failed, HTTPError):
                raise failed
            return failed
        self.metrics.retries.labels(name, name).inc()
        answer = await self._ask(name, path, body, headers, fresh=True)
        if isinstance(failed, HTTPError) and answer.status < 500:
            self.control.set_up(name, True)  # the refusal was one replica's, not the version's
        return answer

    async def _ask(
        self,
        name: str,
        path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        fresh: bool = False,
    ) -> Answer:
        try:
            return await self.upstreams.post(name, path, body, headers, fresh)
        except httpx.ConnectError as exc:
            # A version that refuses connections is gone; the poller restores it once it is ready.
            self.control.set_up(name, False)
            raise HTTPError(502, "version_unreachable", f"version {name!r}: {exc}") from None
        except httpx.TimeoutException:
            limit = self.config.policy.timeout_s
            raise HTTPError(
                504, "version_timeout", f"version {name!r}: no answer in {limit}s"
            ) from None
        except httpx.HTTPError as exc:
            raise HTTPError(502, "version_error", f"version {name!r}: {exc}") from None

    def _log(
        self, request_id: str, path: str, status: int, version: str | None, started: float
    ) -> None:
        if self.config.access_log:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": "POST",
                    "path": path,
                    "status": status,
                    "version": version,
                    "duration_ms": elapsed_ms,
                },
            )

    # ---- lifecycle ---------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        policy = self.config.policy
        tasks = [
            asyncio.create_task(
                self.control.poll_health(
                    self.upstreams, policy.health_interval_s, policy.health_timeout_s
                )
            )
        ]
        if self.config.weights_file is not None:
            watched = WeightsFile(self.config.weights_file)
            tasks.append(
                asyncio.create_task(self.control.watch_file(watched, policy.weights_poll_s))
            )
        yield
        # Shutdown: 1. stop probing and reloading, 2. let shadow copies finish, 3. close the pool.
        for task in tasks:
            task.cancel()
        if self.shadow is not None:
            await self.shadow.close(grace_s=2.0)
        await self.upstreams.close()


def is_inference(path: str) -> bool:
    """`/predict` or a V2 `/v2/models/{name}/infer` (forwarded with the path unchanged)."""
    if path == "/predict":
        return True
    parts = path.split("/")
    return len(parts) == 5 and parts[1:3] == ["v2", "models"] and parts[4] == "infer"


async def _send_answer(send: Send, answer: Answer, name: str) -> None:
    headers = [
        *answer.headers,
        (b"content-length", str(len(answer.body)).encode()),
        (VERSION_HEADER, name.encode()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


# ---- Starlette routes: probes, metrics, admin ---------------------------------------------------
class _Handlers:
    """Route handlers as methods of one small object holding the app."""

    def __init__(self, app: RouterApp) -> None:
        self.app = app

    def routes(self) -> list[Route]:
        posted = ["POST"]  # answered on the hot path; listed so other methods get a JSON 405
        return [
            Route("/predict", self.not_here, methods=posted),
            Route("/v2/models/{name}/infer", self.not_here, methods=posted),
            Route("/healthz", self.live),
            Route("/readyz", self.ready),
            Route("/metrics", self.metrics),
            Route("/admin/weights", self.weights, methods=["GET"]),
            Route("/admin/weights", self.put_weights, methods=["PUT"]),
            *status_routes(lambda: self.app.metrics.exposition()[0], self._status_info),
        ]

    async def not_here(self, _: Request) -> Response:
        raise AssertionError("POST to a hot path is answered before routing")  # pragma: no cover

    def _status_info(self) -> dict[str, str]:
        return {"model": "router", "version": ", ".join(sorted(self.app.table.rotation))}

    async def live(self, _: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def ready(self, _: Request) -> Response:
        rotation = self.app.table.rotation
        ready = bool(rotation) and not self.app.draining
        reason = "draining" if self.app.draining else ("ready" if ready else "no version is ready")
        body = {"ready": ready, "reason": reason, "rotation": sorted(rotation)}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(self, _: Request) -> Response:
        body, content_type = self.app.metrics.exposition()
        return Response(body, media_type=content_type)

    async def weights(self, _: Request) -> Response:
        return JSONResponse(self._state())

    async def put_weights(self, request: Request) -> Response:
        token = self.app.config.admin_token
        # with API keys on, the `admin` scope already guards this route (and owns the header)
        keys_on = self.app.config.auth.keys_file is not None
        if token is not None and not keys_on and not _bearer_matches(request, token):
            message = "changing weights needs 'Authorization: Bearer <admin token>'"
            return _error(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
        try:
            raw = json.loads(await request.body())
        except ValueError as exc:
            return _error(400, "invalid_json", f"the body is not valid JSON: {exc}")
        try:
            self.app.control.set_weights(raw, "admin")
        except WeightsError as exc:
            return _error(422, "invalid_weights", str(exc))
        return JSONResponse(self._state())

    def _state(self) -> dict[str, object]:
        table = self.app.table
        rotation = table.rotation
        total = sum(rotation.values()) or 1.0
        return {
            "weights": table.weights,
            "rotation": {name: round(w / total, 6) for name, w in rotation.items()},
            "up": [n for n in table.names if table.is_up(n)],
            "shadow": self.app.shadow.name if self.app.shadow else None,
        }


def _bearer_matches(request: Request, token: bytes) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token)


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"type": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(_: Request, exc: HTTPException) -> Response:
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _error(exc.status_code, kind, str(exc.detail), dict(exc.headers or {}))
