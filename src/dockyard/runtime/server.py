"""Serve the app with uvicorn; one process by default, several with summed metrics.

Shutdown on SIGTERM, in order: 1. readiness turns false (DRAINING) so balancers stop sending,
2. uvicorn stops accepting and lets in-flight requests finish (serving.graceful_timeout_s),
3. the lifespan drains the batch queue and releases the model, 4. the process exits 0.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from dockyard.runtime.lifecycle import State
from dockyard.runtime.logs import configure_logging
from dockyard.spec import Spec

log = logging.getLogger("dockyard.server")


@dataclass(frozen=True)
class ServeOptions:
    """Where and how to serve; the CLI and the container entrypoint fill it from flags/env."""

    host: str
    port: int
    workers: int = 1
    access_log: bool = True
    log_level: str = "info"


class _Server(uvicorn.Server):
    """uvicorn's server, but a signal first marks the service as draining (readiness false)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app = getattr(self.config, "loaded_app", None)
        service = getattr(app, "service", None)
        if service is not None:
            service.set_state(State.DRAINING, "shutting down")
        super().handle_exit(sig, frame)


def serve(spec: Spec, root: Path, options: ServeOptions) -> None:
    """Run the service until SIGTERM/SIGINT, then shut down gracefully."""
    configure_logging(options.log_level, service=spec.project.name)
    common: dict[str, Any] = dict(
        host=options.host,
        port=options.port,
        access_log=False,  # the app writes its own structured access log
        log_config=None,
        timeout_graceful_shutdown=int(spec.serving.graceful_timeout_s) or None,
        limit_concurrency=None,
        backlog=2048,
    )
    if options.workers == 1:
        from dockyard.runtime.app import create_app

        config = uvicorn.Config(create_app(spec, root, options.access_log), **common)
        # uvicorn re-raises the caught signal after its graceful shutdown, which would end the
        # process as "killed by SIGTERM" (143); a finished drain is a clean exit, so we absorb it.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _drained)
        _Server(config).run()
        return
    _serve_many(root, options, common)


def _drained(sig: int, frame: FrameType | None) -> None:
    """Absorb the signal uvicorn re-raises once shutdown has completed."""


def _serve_many(root: Path, options: ServeOptions, common: dict[str, Any]) -> None:
    """Several processes on one socket; metrics are shared through multiprocess files."""
    from uvicorn.supervisors import Multiprocess

    shared = tempfile.mkdtemp(prefix="dockyard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
    os.environ["DOCKYARD_ROOT"] = str(root)
    os.environ["DOCKYARD_ACCESS_LOG"] = "1" if options.access_log else "0"
    config = uvicorn.Config(
        "dockyard.runtime.app:app_from_env", factory=True, workers=options.workers, **common
    )
    sock = config.bind_socket()
    log.info(
        "serving with several processes", extra={"workers": options.workers, "metrics_dir": shared}
    )
    # uvicorn's supervisor creates each child's Server itself, so children turn DRAINING at
    # lifespan shutdown rather than at the signal; the supervisor restarts children that die.
    Multiprocess(config, sockets=[sock]).run()
