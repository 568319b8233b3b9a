"""Pipeline projects on disk (fixture stages by name) and real front and stage processes."""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Process, free_port

MODELS = Path(__file__).parent / "models"
FIXTURE_STAGES = {"shout": "Shout", "length": "Length", "fragile": "Fragile"}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def make_pipeline(root: Path, stages: list[tuple[str, dict[str, Any]]], **pipeline: Any) -> Path:
    """A project whose stages are fixture models (by module name), each in stages/<name>/."""
    lines = ['[project]\nname = "pipe"\n', '[model]\nentrypoint = "stages.shout.shout:Shout"\n']
    shutil.copy(MODELS / "shout.py", _stage_dir(root, "shout"))
    settings = {"backend": "sqlite", "queue_dir": "queues", "poll_s": 0.05, **pipeline}
    lines.append("[pipeline]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()))
    for module, options in stages:
        stage = _stage_dir(root, module)
        shutil.copy(MODELS / f"{module}.py", stage)
        (stage / "dockyard.toml").write_text(
            f'[project]\nname = "pipe-{module}"\n[model]\n'
            f'entrypoint = "{module}:{FIXTURE_STAGES[module]}"\n'
        )
        body = {"name": module, "path": f"stages/{module}", **options}
        lines.append(
            "[[pipeline.stages]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in body.items())
        )
    (root / "dockyard.toml").write_text("\n".join(lines))
    return root


def _stage_dir(root: Path, module: str) -> Path:
    path = root / "stages" / module
    path.mkdir(parents=True, exist_ok=True)
    return path


class Proc(Process):
    """A `python -m dockyard.runtime.pipeline ...` process with its log in a file."""

    def __init__(self, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "dockyard.runtime.pipeline", *args]
        super().__init__(command, log, {"DOCKYARD_METRICS_PORT": "0", **(env or {})})


class Front(Proc):
    """The HTTP front on a free port; `local` also runs every stage in it."""

    def __init__(
        self, root: Path, local: bool = True, env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        stages = "local" if local else "remote"
        args = ("serve", str(root), "--host", "127.0.0.1", "--port", str(self.port))
        super().__init__(log or root / "front.log", *args, "--stages", stages, env=env)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"front exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"front never ready:\n{self.log.read_text()}")


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test starts; each is stopped afterwards."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()
