"""A standalone app around `PipelineService`: the front container of a pipeline stack."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.runtime.auth import AuthConfig, Guard, rules
from dockyard.runtime.http import Receive, Scope, Send
from dockyard.runtime.monitor.status import status_routes
from dockyard.runtime.pipeline.service import PipelineService
from dockyard.spec import Spec


class Front:
    """Probes plus the /pipeline routes; ready once the queues (and local stages) are up."""

    def __init__(self, spec: Spec, root: Path, local: bool, environ: Mapping[str, str]) -> None:
        self.service = PipelineService(spec, root, local, environ=environ)
        self.ready = False
        self.draining = False
        probes = [Route("/healthz", self.live), Route("/readyz", self.readyz)]
        status = status_routes(
            lambda: generate_latest(self.service.metrics.registry), lambda: {"model": "pipeline"}
        )
        self.app = Starlette(
            routes=[*probes, *self.service.routes, *status], lifespan=self._lifespan
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @property
    def routes(self) -> list[BaseRoute]:
        """The front's route table (the auth layer's rules are checked against it)."""
        return list(self.app.routes)

    def drain(self) -> None:
        """Readiness false for good: the process is shutting down."""
        self.draining = True

    def fatal(self) -> str | None:
        """Never: a failing version or stage is reported at /readyz, not by exiting."""
        return None

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        await self.service.startup()
        self.ready = True
        yield
        self.ready = False
        await self.service.shutdown()

    async def live(self, _: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(self, _: Request) -> Response:
        ready = self.ready and not self.draining
        body = {
            "ready": ready,
            "state": "draining" if self.draining else "ready" if ready else "starting",
        }
        return JSONResponse(body, status_code=200 if ready else 503)


def create_front(spec: Spec, root: Path, env: Mapping[str, str], local: bool = True) -> Guard:
    """The front's ASGI app behind the auth layer (`local`: run every stage here too).

    `env` is the process environment (API keys file, shared limits, the queues' Redis login,
    inside an image or not), passed by the entry point.
    """
    front = Front(spec, root, local, env)
    auth = AuthConfig.resolve(spec, root, env)
    return Guard(front, auth, rules.PIPELINE_FRONT, front.service.metrics.registry)
