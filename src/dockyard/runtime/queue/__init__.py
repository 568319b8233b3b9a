"""The jobs queue: one small interface, back ends chosen in the spec and imported on use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
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


PASSWORD_FILE_ENV = "DOCKYARD_REDIS_PASSWORD_FILE"
USER_ENV = "DOCKYARD_REDIS_USER"


def redis_login(environ: Mapping[str, str]) -> dict[str, str]:
    """Redis credentials from the deployment: a user name and a password *file* (never a value)."""
    path = environ.get(PASSWORD_FILE_ENV)
    if not path:
        return {}
    password = Path(path).read_text(encoding="utf-8").strip()
    return {"username": environ.get(USER_ENV, "default"), "password": password}


def open_queue(worker: Worker, root: Path, environ: Mapping[str, str] | None = None) -> JobQueue:
    """The back end `[worker]` names; a relative sqlite path is relative to the project.

    A stack's Redis needs a login, which the deployment passes as DOCKYARD_REDIS_USER and
    DOCKYARD_REDIS_PASSWORD_FILE (a mounted secret): `environ` is the process's environment,
    read by its entry point and passed down; the password file is read here, on opening. Without
    `environ` (tests, tools on the host) Redis is opened without a login.
    """
    if worker.backend == "memory":
        return MemoryQueue()
    module_name, _, class_name = BACKENDS[worker.backend].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if worker.backend == "sqlite":
        return cls(root / worker.sqlite_path)  # type: ignore[no-any-return]
    login = redis_login(environ or {})
    return cls(worker.redis_url, namespace=worker.namespace, **login)  # type: ignore[no-any-return]
