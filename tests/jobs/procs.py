"""Real processes for the jobs tests: a project on disk and `python -m dockyard.runtime worker`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Process

MODELS = Path(__file__).parent / "models"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def make_project(root: Path, model: str, cls: str, **worker: Any) -> Path:
    """A project directory holding the fixture model `model` and a spec with `[worker]` settings."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / f"{model}.py", root / f"{model}.py")
    settings = {"enabled": True, "metrics_port": 0, **worker}
    lines = [
        "[project]", 'name = "jobs-test"', "", "[model]", f'entrypoint = "{model}:{cls}"', "",
        "[worker]", *(f"{k} = {_toml(v)}" for k, v in settings.items()),
    ]  # fmt: skip
    (root / "dockyard.toml").write_text("\n".join(lines) + "\n")
    return root


class WorkerProcess(Process):
    """One `python -m dockyard.runtime worker DIR`, logging to its own file."""

    def __init__(self, root: Path, name: str, env: dict[str, str] | None = None) -> None:
        self.heartbeat = root / f"{name}.heartbeat"
        extra = {"DOCKYARD_HEARTBEAT_FILE": str(self.heartbeat), "DOCKYARD_WORKER_ID": name}
        command = [sys.executable, "-m", "dockyard.runtime", "worker", str(root)]
        super().__init__(command, root / f"{name}.log", {**extra, **(env or {})})
