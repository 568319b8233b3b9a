"""Real processes for the jobs tests: a project on disk and `python -m dockyard.runtime worker`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from tests.support.procs import Process
from tests.support.toml import write_toml

MODELS = Path(__file__).parent / "models"


def make_project(root: Path, model: str, cls: str, **worker: Any) -> Path:
    """A project directory holding the fixture model `model` and a spec with `[worker]` settings."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / f"{model}.py", root / f"{model}.py")
    write_toml(root / "dockyard.toml", {
        "project": {"name": "jobs-test"},
        "model": {"entrypoint": f"{model}:{cls}"},
        "worker": {"enabled": True, "metrics_port": 0, **worker},
    })  # fmt: skip
    return root


class WorkerProcess(Process):
    """One `python -m dockyard.runtime worker DIR`, logging to its own file."""

    def __init__(self, root: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.heartbeat = root / f"{name}.heartbeat"
        extra = {"DOCKYARD_HEARTBEAT_FILE": str(self.heartbeat), "DOCKYARD_WORKER_ID": name}
        command = [sys.executable, "-m", "dockyard.runtime", "worker", str(root)]
        super().__init__(command, root / f"{name}.log", {**extra, **(env or {})})
