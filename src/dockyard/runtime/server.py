"""Serve the API through the shared entrypoint (`entry.http`): one process, or several with
summed metrics. Shutdown is the entrypoint's: 1. readiness false and new work refused, 2.
requests in flight finish, 3. the lifespan drains the batch queue and releases the model,
4. the process exits 0 (serving.graceful_timeout_s bounds steps 2 and 3).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.runtime.entry.http import HttpOptions, serve_http
from dockyard.runtime.entry.tls import tls_files
from dockyard.spec import Spec

if TYPE_CHECKING:
    from dockyard.runtime.auth import Guard


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve; the CLI and the container entrypoint fill it from flags/env."""

    host: str
    port: int
    workers: int = 1
    access_log: bool = True
    log_level: str = "info"


def serve(spec: Spec, root: Path, options: ServeOptions) -> int:
    """Run the service until SIGTERM/SIGINT, then drain; 0 once drained."""
    http = HttpOptions(
        host=options.host,
        port=options.port,
        service=spec.project.name,
        workers=options.workers,
        grace_s=spec.serving.graceful_timeout_s,
        log_level=options.log_level,
        tls=tls_files(spec, root, os.environ),
    )
    if options.workers == 1:
        from dockyard.runtime.app import create_app

        return serve_http(
            partial(create_app, spec, root, options.access_log, environ=os.environ), http
        )
    # Each child process builds its own app from these; metrics are summed through the files.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dockyard-metrics-")
    os.environ["DOCKYARD_ROOT"] = str(root)
    os.environ["DOCKYARD_ACCESS_LOG"] = "1" if options.access_log else "0"
    return serve_http("dockyard.runtime.server:app_from_env", http)


def app_from_env() -> Guard:
    """Factory for multi-process serving: each worker process reads the project from the env."""
    from dockyard.runtime.app import create_app
    from dockyard.spec import load_spec, runs_in_container

    root = Path(os.environ["DOCKYARD_ROOT"])
    access = os.environ.get("DOCKYARD_ACCESS_LOG")
    log_requests = None if access is None else access == "1"
    spec = load_spec(root, runs_in_container(os.environ))
    return create_app(spec, root, log_requests, environ=os.environ)
