"""Serve the router with uvicorn until SIGTERM/SIGINT.

Shutdown, in order: 1. readiness turns false so balancers stop sending, 2. uvicorn stops
accepting and finishes requests in flight, 3. the lifespan stops the poller, lets shadow copies
finish and closes the connection pool, 4. the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from types import FrameType

import uvicorn

from dockyard.runtime.logs import configure_logging
from dockyard.runtime.router.app import RouterApp
from dockyard.runtime.router.config import router_config
from dockyard.runtime.router.local import local_versions
from dockyard.spec import Spec


class _Server(uvicorn.Server):
    """uvicorn's server, but a signal first marks the router as draining (readiness false)."""

    def __init__(self, config: uvicorn.Config, app: RouterApp) -> None:
        super().__init__(config)
        self.router = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.router.draining = True
        super().handle_exit(sig, frame)


def serve_router(
    app: RouterApp, host: str, port: int, *, log_level: str = "info", service: str = "router"
) -> None:
    """Run `app` on host:port in this process until a signal stops it."""
    configure_logging(log_level, service=service)
    # httpx logs every forwarded request at INFO; the router's own access log already does.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # the router writes its own structured access log
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=10,
        backlog=2048,
    )
    # uvicorn re-raises the caught signal once shut down; a finished drain is a clean exit (0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _absorb)
    _Server(config, app).run()


def _absorb(sig: int, frame: FrameType | None) -> None:
    """Ignore the signal uvicorn re-raises after its graceful shutdown."""


def run(
    spec: Spec, root: Path, host: str, port: int, *, local: bool = False, log_level: str = "info"
) -> None:
    """Serve the router of the project in `root`; with `local`, start its versions first."""
    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(local_versions(spec, root, "127.0.0.1")) if local else None
        app = RouterApp(router_config(spec, root, urls=urls))
        serve_router(app, host, port, log_level=log_level, service=f"{spec.project.name}-router")
