"""The jobs queue: one small interface, back ends chosen in the spec and imported on use."""

from __future__ import annotations

import importlib
from pathlib import Path

from dockyard.runtime.queue.base import (
    Claim,
    Job,
    JobQueue,
    JobState,
    NewJob,
    QueueStats,
    WebhookState,
    backoff,
    put,
)
from dockyard.runtime.queue.memory import MemoryQueue
from dockyard.spec.jobs import Worker

__all__ = [
    "Claim",
    "Job",
    "JobQueue",
    "JobState",
    "MemoryQueue",
    "NewJob",
    "QueueStats",
    "WebhookState",
    "backoff",
    "open_queue",
    "put",
]

# Import strings, so the sqlite3 and redis modules are only imported by the back end in use.
BACKENDS = {
    "sqlite": "dockyard.runtime.queue.sqlite:SqliteQueue",
    "redis": "dockyard.runtime.queue.redis:RedisQueue",
}


def open_queue(worker: Worker, root: Path) -> JobQueue:
    """The back end `[worker]` names; a relative sqlite path is relative to the project."""
    if worker.backend == "memory":
        return MemoryQueue()
    module_name, _, class_name = BACKENDS[worker.backend].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if worker.backend == "sqlite":
        return cls(root / worker.sqlite_path)  # type: ignore[no-any-return]
    return cls(worker.redis_url, namespace=worker.namespace)  # type: ignore[no-any-return]
