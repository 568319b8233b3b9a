"""A real uvicorn server in a thread, serving a fake generative model this test can inspect."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dockyard.runtime.app import DockyardApp, create_app
from dockyard.runtime.generate.fake import Record
from dockyard.spec import load_spec
from tests.conftest import free_port
from tests.support.waiting import eventually

MODEL = """
from dockyard.runtime.generate.fake import {base}


class Fake({base}):
    step_delay = {delay}
"""


@dataclass
class Served:
    url: str
    app: DockyardApp

    @property
    def record(self) -> Record:
        runner = self.app.service.runner
        assert runner is not None
        return runner.model.record  # type: ignore[attr-defined,no-any-return]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        eventually(condition, timeout=timeout, interval=0.005)


def write_project(
    root: Path, base: str = "FakeGenerator", delay: float = 0.0, **serving: Any
) -> Path:
    """A project serving the fake; on the model thread here, where a test can read its record,
    unless `executor="auto"` (the model in its own process, test_process.py)."""
    serving.setdefault("executor", "thread")
    root.mkdir(parents=True, exist_ok=True)
    (root / "fake_model.py").write_text(MODEL.format(base=base, delay=delay))
    lines = ["[project]", 'name = "fake"', "", "[model]", 'entrypoint = "fake_model:Fake"', ""]
    lines += ["[serving]", *(f"{k} = {v!r}" for k, v in serving.items())]
    (root / "dockyard.toml").write_text("\n".join(lines) + "\n")
    return root


@contextlib.contextmanager
def serve(root: Path) -> Iterator[Served]:
    """Serve the project on a free loopback port until the block ends."""
    app = create_app(load_spec(root), root, access_log=False, environ=os.environ)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        assert time.monotonic() < deadline, "the server never became ready"
        time.sleep(0.02)
    try:
        yield Served(url, app)
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The step-wise fake, 10 ms per step."""
    with serve(write_project(tmp_path / "proj", delay=0.01)) as s:
        yield s
