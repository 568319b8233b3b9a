"""The ASGI application: hot prediction paths as plain ASGI, everything else as Starlette routes."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.runtime import openapi
from dockyard.runtime.auth import AuthConfig, Guard, rules
from dockyard.runtime.http import Message, Receive, Scope, Send
from dockyard.runtime.lifecycle import State
from dockyard.runtime.monitor.service import create_monitor
from dockyard.runtime.predict import PredictEndpoints, Record
from dockyard.runtime.service import Service
from dockyard.spec import Spec, runs_in_container

log = logging.getLogger("dockyard.app")


class Extra(Protocol):
    """A pattern's routes mounted on the service, with their own start and stop (jobs, pipeline)."""

    routes: list[BaseRoute]

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class DockyardApp:
    """Routes POST /predict and V2 infer straight to their handlers; the rest goes to Starlette."""

    def __init__(
        self,
        service: Service,
        access_log: bool = True,
        extras: Sequence[Extra] = (),
        record: Record | None = None,
    ) -> None:
        self.service = service
        self._dead_since: float | None = None
        self.endpoints = PredictEndpoints(service, access_log, *([record] if record else []))
        self.extras = list(extras)
        # Extras first: their routes (V2 generate) must win over the catch-all V2 refusals.
        routes = [route for extra in self.extras for route in extra.routes] + _routes(service)
        self.routes = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _http_error, Exception: _server_error},  # type: ignore[dict-item]
        )
        self._infer_path = f"/v2/models/{service.spec.model_name}/infer"
        self._infer_version_path = (
            f"/v2/models/{service.spec.model_name}/versions/{service.spec.model.version}/infer"
        )

    def drain(self) -> None:
        """Readiness false for good: the process is shutting down."""
        self.service.set_state(State.DRAINING, "shutting down")

    def fatal(self) -> str | None:
        """Why the process must exit: setup() failed `health.setup_failure_exit_s` ago."""
        lifecycle = self.service.lifecycle
        if lifecycle.alive:
            return None
        self._dead_since = self._dead_since or time.monotonic()
        grace = self.service.spec.health.setup_failure_exit_s
        return lifecycle.reason if time.monotonic() - self._dead_since >= grace else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/predict":
                return await self.endpoints.predict(scope, receive, send)
            if path in (self._infer_path, self._infer_version_path):
                return await self.endpoints.v2_infer(scope, receive, send)
        if scope["type"] != "http":
            return await self.routes(scope, receive, send)
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a non-hot route and count it by route template (never by raw path)."""
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.routes(scope, receive, send_status)
        finally:
            route = _template(scope) if status != 404 else "unmatched"
            self.service.metrics.requests.labels(route, scope["method"], str(status)).inc()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        await self.service.start()
        for extra in self.extras:
            await extra.startup()
        yield
        for extra in reversed(self.extras):
            await extra.shutdown()
        await self.service.stop(self.service.spec.serving.graceful_timeout_s)


def _template(scope: Scope) -> str:
    """The template of the route Starlette matched (never the raw path: unbounded labels)."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


def create_app(
    spec: Spec, root: Path, access_log: bool | None = None, *, environ: Mapping[str, str]
) -> Guard:
    """Build the whole service for a project (jobs routes too when the spec enables workers).

    Wrapped in the auth layer (API keys when `[auth]` or the deployment turns them on, and
    security headers always); the wrapper forwards attributes, so `.service` still works.
    `environ` is the process's environment, read by the entry point that serves the app; what
    the service needs from it (inside an image or not, the Redis login) is taken from it here.
    """
    in_container = runs_in_container(environ)
    service = Service(spec, root, in_container=in_container)
    extras: list[Extra] = []
    # Loaded on use: only projects with jobs or a pipeline pay for their imports.
    if spec.worker.enabled:
        from dockyard.runtime.jobs_api import JobsService

        extras.append(
            JobsService(spec, root, service.signature, service.metrics.registry, environ=environ)
        )
    # Locally `dockyard serve` runs the whole pipeline in one process; in a stack the pipeline
    # has its own front and stage containers, so the API container leaves it to them.
    if spec.pipeline.stages and not in_container:
        from dockyard.runtime.pipeline import PipelineService

        # The spec's queue_dir is the stack's volume; locally the queues live in the project.
        local_dir = environ.get("DOCKYARD_PIPELINE_QUEUE_DIR") or str(
            root / ".dockyard" / "pipeline"
        )
        local = spec.pipeline.model_copy(update={"queue_dir": local_dir})
        extras.append(
            PipelineService(
                spec.model_copy(update={"pipeline": local}), root, local=True, environ=environ
            )
        )
    generation = None
    if service.signature.generative:  # streamed generations, continuously batched
        from dockyard.runtime.generate.service import GenerationService

        generation = GenerationService(service)
        extras.append(generation)
    from dockyard.runtime.openai_api.service import OpenAIService

    extras.append(OpenAIService(service, generation))
    monitor = create_monitor(service, root, extras, in_container)  # /feedback, /status
    extras.append(monitor)
    log_requests = spec.serving.access_log if access_log is None else access_log
    app = DockyardApp(service, log_requests, extras, monitor.record)
    auth = AuthConfig.resolve(spec, root, environ)
    return Guard(app, auth, rules.MODEL_SERVICE, service.metrics.registry)


# ---- Starlette routes: probes, metrics, docs, V2 metadata -------------------------------------
def _routes(service: Service) -> list[BaseRoute]:
    h = _Handlers(service)
    name = service.spec.model_name
    posted = ["POST"]  # served on the hot path; listed so other methods get a JSON 405
    return [
        Route("/predict", h.not_here, methods=posted),
        Route(f"/v2/models/{name}/infer", h.not_here, methods=posted),
        Route("/healthz", h.live),
        Route("/readyz", h.ready),
        Route("/metrics", h.metrics),
        Route("/openapi.json", h.openapi),
        Route("/docs", h.docs),
        Route("/docs/static/{name}", h.docs_static),
        Route("/v2", h.v2_server),
        Route("/v2/health/live", h.live),
        Route("/v2/health/ready", h.ready),
        Route(f"/v2/models/{name}", h.v2_model),
        Route(f"/v2/models/{name}/versions/{{version}}", h.v2_model),
        Route(f"/v2/models/{name}/ready", h.ready),
        Route(f"/v2/models/{name}/versions/{{version}}/ready", h.ready),
        Route("/v2/models/{other}", h.v2_unknown),
        Route("/v2/models/{other}/{rest:path}", h.v2_unknown, methods=["GET", "POST"]),
    ]


class _Handlers:
    """Route handlers as methods of one small object holding the service."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def not_here(self, _: Request) -> Response:
        raise AssertionError("POST to a hot path is answered before routing")  # pragma: no cover

    async def live(self, _: Request) -> Response:
        lifecycle = self.service.lifecycle
        if not lifecycle.alive:  # setup() failed: let the orchestrator restart the process
            body = {"status": "dead", "state": lifecycle.state.value, "reason": lifecycle.reason}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "alive", "state": lifecycle.state.value})

    async def ready(self, _: Request) -> Response:
        ready, reason = self.service.readiness()
        body = {
            "ready": ready,
            "state": self.service.lifecycle.state.value,
            "reason": reason,
            "startup": self.service.startup.report(),
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(self, _: Request) -> Response:
        self.service.metrics.queue_depth.set(self.service.batcher.depth)
        body, content_type = self.service.metrics.exposition()
        return Response(body, media_type=content_type)

    async def openapi(self, _: Request) -> Response:
        return JSONResponse(openapi.document(self.service))

    async def docs(self, _: Request) -> Response:
        return HTMLResponse(openapi.docs_page(self.service.spec.project.name))

    async def docs_static(self, request: Request) -> Response:
        name, folder = request.path_params["name"], openapi.swagger_static()
        if folder is None or name not in openapi.SWAGGER_FILES:
            return _error(404, "not_found", f"no docs asset {name!r}")
        headers = {"Cache-Control": "public, max-age=86400"}
        return FileResponse(folder / name, media_type=openapi.SWAGGER_FILES[name], headers=headers)

    async def v2_server(self, _: Request) -> Response:
        from dockyard import __version__

        return JSONResponse({"name": "dockyard", "version": __version__, "extensions": []})

    async def v2_model(self, request: Request) -> Response:
        spec = self.service.spec
        version = request.path_params.get("version")
        if version is not None and version != spec.model.version:
            return _error(
                404, "unknown_version", f"model {spec.model_name!r} has no version {version!r}"
            )
        endpoints = openapi.v2_tensors(self.service)
        return JSONResponse(
            {
                "name": spec.model_name,
                "versions": [spec.model.version],
                "platform": "dockyard",
                "inputs": endpoints[0],
                "outputs": endpoints[1],
            }
        )

    async def v2_unknown(self, request: Request) -> Response:
        other = request.path_params["other"]
        return _error(
            404,
            "unknown_model",
            f"no model {other!r}; this server serves {self.service.spec.model_name!r}",
        )


def _error(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )


async def _http_error(_: Request, exc: HTTPException) -> Response:
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _error(exc.status_code, kind, str(exc.detail), dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", extra={"path": request.url.path}, exc_info=exc)
    return _error(500, "internal_error", f"{type(exc).__name__}: the error was logged")
