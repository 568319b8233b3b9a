"""The heartbeat file: how a container health check sees a worker that has no HTTP port."""

from __future__ import annotations

import enum
import json
import os
import time
from pathlib import Path


class WorkerState(enum.Enum):
    """A worker's life; only READY (claiming) is healthy."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"


def beat(path: Path, state: WorkerState, now: float | None = None) -> None:
    """Record state and time atomically (write then rename), so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    payload = {"state": state.value, "at": time.time() if now is None else now, "pid": os.getpid()}
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


def is_healthy(path: Path, stale_after_s: float, now: float | None = None) -> tuple[bool, str]:
    """(healthy, why): ready, and the last beat is younger than `stale_after_s`."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return False, f"no heartbeat at {path}: {exc}"
    age = (time.time() if now is None else now) - float(data.get("at", 0))
    if data.get("state") != WorkerState.READY.value:
        return False, f"worker is {data.get('state')}"
    if age > stale_after_s:
        return False, f"last heartbeat {age:.1f}s ago (limit {stale_after_s:g}s)"
    return True, f"ready, heartbeat {age:.1f}s ago"
