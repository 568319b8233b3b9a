"""Pipeline projects on disk (fixture stages by name) and real front and stage processes."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.runtime.pipeline.front import create_front
from dockyard.spec import load_spec
from tests.support.asgi import serving
from tests.support.ports import free_port
from tests.support.procs import Process
from tests.support.toml import write_toml

MODELS = Path(__file__).parent / "models"
FIXTURE_STAGES = {"shout": "Shout", "length": "Length", "fragile": "Fragile"}


def make_pipeline(root: Path, stages: list[tuple[str, dict[str, Any]]], **pipeline: Any) -> Path:
    """A project whose stages are fixture models (by module name), each in stages/<name>/."""
    shutil.copy(MODELS / "shout.py", _stage_dir(root, "shout"))
    settings = {"backend": "sqlite", "queue_dir": "queues", "poll_s": 0.05, **pipeline}
    bodies = []
    for module, options in stages:
        stage = _stage_dir(root, module)
        shutil.copy(MODELS / f"{module}.py", stage)
        write_toml(stage / "dockyard.toml", {
            "project": {"name": f"pipe-{module}"},
            "model": {"entrypoint": f"{module}:{FIXTURE_STAGES[module]}"},
        })  # fmt: skip
        bodies.append({"name": module, "path": f"stages/{module}", **options})
    write_toml(root / "dockyard.toml", {
        "project": {"name": "pipe"},
        "model": {"entrypoint": "stages.shout.shout:Shout"},
        "pipeline": {**settings, "stages": bodies},
    })  # fmt: skip
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
        self.wait_http(self.url + "/readyz", timeout)


@pytest.fixture
def front_app() -> Iterator[Callable[..., TestClient]]:
    """Start a pipeline's front in-process with `front_app(root, queue_dir=None)`, every stage
    in it (what `python -m dockyard.runtime.pipeline serve` runs); stopped after the test."""
    with contextlib.ExitStack() as stack:

        def start(root: Path, queue_dir: Path | None = None) -> TestClient:
            spec = load_spec(root)
            if queue_dir is not None:
                pipeline = spec.pipeline.model_copy(update={"queue_dir": str(queue_dir)})
                spec = spec.model_copy(update={"pipeline": pipeline})
            return stack.enter_context(serving(create_front(spec, root, {}, local=True), root))

        yield start


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    """Processes a test starts; each is stopped afterwards."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()
