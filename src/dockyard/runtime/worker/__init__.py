"""`dockyard worker DIR`: the process that runs queued jobs, and its container health check.

Settings are merged in one order: the spec's `[worker]` table, then these environment variables
(read here, at the edge): DOCKYARD_HEARTBEAT_FILE, DOCKYARD_METRICS_PORT, DOCKYARD_WORKER_ID;
DOCKYARD_IN_CONTAINER (artifacts at their container paths) and the Redis login are read here too
and passed down.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from dockyard.runtime.entry.loop import run_until_signal
from dockyard.runtime.entry.metrics import serve_metrics
from dockyard.runtime.logs import configure_logging
from dockyard.runtime.queue import JobQueue, open_queue
from dockyard.runtime.webhooks import WebhookDispatcher, webhook_secret
from dockyard.runtime.worker.heartbeat import WorkerState, beat, is_healthy
from dockyard.runtime.worker.loop import Execute, Policy, Result, Worker
from dockyard.runtime.worker.metrics import WorkerMetrics
from dockyard.runtime.worker.model import load_executor
from dockyard.spec import Spec, runs_in_container

__all__ = ["Execute", "Policy", "Result", "Worker", "WorkerState", "healthcheck", "main"]

log = logging.getLogger("dockyard.worker")


@dataclass(frozen=True)
class Edge:
    """What a worker process takes from its environment rather than from the spec."""

    heartbeat_file: Path
    metrics_port: int
    worker_id: str
    in_container: bool = False

    @classmethod
    def read(cls, spec: Spec, environ: Mapping[str, str]) -> Edge:
        return cls(
            heartbeat_file=Path(environ.get("DOCKYARD_HEARTBEAT_FILE", spec.worker.heartbeat_file)),
            metrics_port=int(environ.get("DOCKYARD_METRICS_PORT", spec.worker.metrics_port)),
            worker_id=environ.get("DOCKYARD_WORKER_ID", f"{socket.gethostname()}-{os.getpid()}"),
            in_container=runs_in_container(environ),
        )


def main(spec: Spec, root: Path) -> int:
    """Run a worker until SIGTERM/SIGINT, then drain; ModelError propagates (exit 3)."""
    from dockyard.runtime.auth import AuthConfig  # not on the health check's import path

    configure_logging(service=f"{spec.project.name}-worker")
    edge = Edge.read(spec, os.environ)
    beat(edge.heartbeat_file, WorkerState.STARTING)
    execute = load_executor(spec, root, in_container=edge.in_container)
    queue = open_queue(spec.worker, root, os.environ)
    metrics = WorkerMetrics()
    serve_metrics(metrics.registry, edge.metrics_port, AuthConfig.resolve(spec, root, os.environ))
    policy = Policy.from_spec(spec.worker, spec.serving.max_batch_size)
    worker = Worker(
        queue, execute, policy, edge.worker_id, metrics, partial(beat, edge.heartbeat_file)
    )
    stop_webhooks = threading.Event()
    webhooks = threading.Thread(
        target=_dispatcher(spec, queue).run,
        args=(stop_webhooks, policy.poll_s),
        name="dockyard-webhooks",
        daemon=True,
    )
    webhooks.start()
    log.info(
        "worker ready",
        extra={
            "worker": edge.worker_id,
            "backend": spec.worker.backend,
            "batch_size": policy.batch_size,
        },
    )
    code = run_until_signal(worker.run, worker.stop, "worker")
    stop_webhooks.set()
    webhooks.join(timeout=spec.worker.webhook_timeout_s + 1)
    queue.close()
    return code


def _dispatcher(spec: Spec, queue: JobQueue) -> WebhookDispatcher:
    from dockyard.runtime.auth.webhooks import WebhookPolicy

    w = spec.worker
    return WebhookDispatcher(
        queue,
        webhook_secret(w.webhook_secret, os.environ),
        max_attempts=w.webhook_max_attempts,
        backoff_s=w.backoff_s,
        backoff_max_s=w.backoff_max_s,
        timeout_s=w.webhook_timeout_s,
        policy=WebhookPolicy.from_spec(spec.auth),
    )


def healthcheck(spec: Spec, root: Path) -> int:
    """0 when this container's worker is ready and its heartbeat is fresh, else 1."""
    edge = Edge.read(spec, os.environ)
    healthy, why = is_healthy(edge.heartbeat_file, spec.worker.stale_after_s)
    print(why)
    return 0 if healthy else 1
