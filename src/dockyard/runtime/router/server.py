"""Serve the router through the shared entrypoint (`entry.http`) until SIGTERM/SIGINT.

Shutdown is the entrypoint's: 1. readiness false and new requests refused, 2. requests in
flight finish, 3. the lifespan stops the poller, lets shadow copies finish and closes the
connection pool, 4. the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path

from dockyard.runtime.entry.http import HttpOptions, serve_http
from dockyard.runtime.router.app import RouterApp
from dockyard.runtime.router.config import router_config
from dockyard.runtime.router.local import local_versions
from dockyard.spec import Spec

GRACE_S = 10.0


def serve_router(
    app: RouterApp, host: str, port: int, *, log_level: str = "info", service: str = "router"
) -> int:
    """Run `app` on host:port in this process until a signal stops it; 0 once drained."""
    options = HttpOptions(host, port, service, grace_s=GRACE_S, log_level=log_level)
    return serve_http(lambda: app, options)


def run(
    spec: Spec,
    root: Path,
    host: str,
    port: int,
    env: Mapping[str, str],
    *,
    local: bool = False,
    log_level: str = "info",
) -> int:
    """Serve the router of the project in `root`; with `local`, start its versions first."""
    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(local_versions(spec, root, "127.0.0.1")) if local else None
        app = RouterApp(router_config(spec, root, env, urls=urls))
        # httpx logs every forwarded request at INFO; the router's own access log already does.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        return serve_router(
            app, host, port, log_level=log_level, service=f"{spec.project.name}-router"
        )
