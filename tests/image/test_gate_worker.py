"""On a real engine: a project with `[worker] enabled` runs and passes the gate.

The root filesystem stays read-only; `run` and `test` give the SQLite queue an in-memory volume
they create and remove, start a real worker container beside the API, and the gate submits
golden inputs as jobs through it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.image.engine import Engine
from tests.support.waiting import eventually

from ..conftest import free_port
from .engine_support import BASE, containers, engine_or_skip, keyed_project, remove_images, unique

pytestmark = [pytest.mark.engine, pytest.mark.slow]
WORKER = '\n[worker]\nenabled = true\nsqlite_path = "/data/jobs.sqlite3"\n'


def dockyard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE, "DOCKYARD_SECRET_API_TOKEN": "sk-worker"}
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    engine_or_skip()
    name = unique("ee-worker")
    root = keyed_project(tmp_path_factory.mktemp("worker") / name, name, WORKER)
    done = dockyard("build", str(root))
    assert done.returncode == 0, done.stderr
    yield root
    remove_images(f"{name}:0.1.0")


def test_worker_project_passes_the_gate_with_jobs(project: Path) -> None:
    done = dockyard("test", str(project), "--requests", "10", "--format", "json",
                    "--image", f"{project.name}:0.1.0")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["jobs"]["status"] == "pass", checks["jobs"]
    assert checks["jobs"]["data"] == {"jobs": 3, "problems": 0}
    assert not containers(f"dev.dockyard.project={project.name}")
    assert not _volumes(project.name)


def test_run_starts_a_worker_that_finishes_jobs(engine: Engine, project: Path) -> None:
    port = free_port()
    done = dockyard("run", str(project), "--port", str(port))
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        assert "worker" in done.stdout
        url = f"http://127.0.0.1:{port}"
        job = _post(f"{url}/jobs", {"input": [1.0, 2.0, 3.0]})
        eventually(
            lambda: _get(f"{url}/jobs/{job['id']}")["state"] == "done", timeout=30, interval=0.3
        )
        roles = {
            engine.inspect(c)["Config"]["Labels"]["dev.dockyard.role"]
            for c in containers(f"dev.dockyard.project={project.name}")
        }
        assert roles == {"api", "worker"}
        assert len(_volumes(project.name)) == 1
    finally:
        ids = containers(f"dev.dockyard.project={project.name}")
        subprocess.run(["docker", "stop", "-t", "5", *ids], capture_output=True)
        time.sleep(1)  # auto-removal releases the volume
        subprocess.run(["docker", "volume", "rm", *_volumes(project.name)], capture_output=True)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return engine_or_skip()


def _volumes(project: str) -> list[str]:
    out = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=dev.dockyard.project={project}"],
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def _post(url: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.loads(response.read()))
