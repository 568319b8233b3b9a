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
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from dockyard.errors import ModelError
from dockyard.runtime.lifecycle import State
from dockyard.runtime.logs import configure_logging
from dockyard.spec import Spec

if TYPE_CHECKING:
    from dockyard.runtime.service import Service

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
    """uvicorn's server, but a signal first marks the service as draining (readiness false),
    and a failed setup() ends it after `health.setup_failure_exit_s` (probes read why meanwhile).
    """

    def __init__(self, config: uvicorn.Config, service: Service) -> None:
        super().__init__(config)
        self.service = service
        self.dead_since: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.service.set_state(State.DRAINING, "shutting down")
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        grace = self.service.spec.health.setup_failure_exit_s
        if not self.service.lifecycle.alive:
            self.dead_since = self.dead_since or time.monotonic()
            if time.monotonic() - self.dead_since >= grace:
                return True
        return await super().on_tick(counter)


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

        app = create_app(spec, root, options.access_log)
        config = uvicorn.Config(app, **common)
        # uvicorn re-raises the caught signal after its graceful shutdown, which would end the
        # process as "killed by SIGTERM" (143); a finished drain is a clean exit, so we absorb it.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _drained)
        _Server(config, app.service).run()
        if not app.service.lifecycle.alive:
            raise ModelError(f"the model could not start: {app.service.lifecycle.reason}")
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
