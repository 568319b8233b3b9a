"""On a real engine: `dockyard up --port` puts a second stack beside the first, and a stack that
fails to start (its port is taken) is rolled back with the error; `down` deletes the plaintext
secret copies.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.image.engine_support import BASE, engine_or_skip, keyed_project, remove_images, unique

pytestmark = [pytest.mark.engine, pytest.mark.slow]
KEY = "sk-stack-port-5Jd8"


def dockyard(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE, "DOCKYARD_SECRET_API_TOKEN": KEY}
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )


def compose_objects(kind: str, project: str) -> list[str]:
    """Containers (`ps -a`) or volumes Compose labelled with `project`."""
    command = ["ps", "-aq"] if kind == "containers" else ["volume", "ls", "-q"]
    label = f"label=com.docker.compose.project={project}"
    out = subprocess.run(["docker", *command, "--filter", label], capture_output=True, text=True)
    return out.stdout.split()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    engine_or_skip()
    name = unique("ee-stack")
    root = keyed_project(tmp_path / name, name)
    yield root
    for suffix in ("a", "b", "c"):
        dockyard("down", str(root), "-p", f"{name}-{suffix}", "--volumes")
    remove_images(f"{name}:0.1.0")


def test_two_stacks_on_two_ports_and_a_failed_start_is_rolled_back(project: Path) -> None:
    name, first, second = project.name, free_port(), free_port()
    done = dockyard("up", str(project), "-p", f"{name}-a", "--port", str(first))
    assert done.returncode == 0, done.stderr[-3000:]
    staged = project / ".dockyard" / "run-secrets" / "api_token"
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600
    done = dockyard("up", str(project), "-p", f"{name}-b", "--port", str(second))
    assert done.returncode == 0, done.stderr[-3000:]
    for port in (first, second):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200

    done = dockyard("up", str(project), "-p", f"{name}-c", "--port", str(first))
    assert done.returncode == 5
    assert "rolled back" in done.stderr and "port is already allocated" in done.stderr
    assert compose_objects("containers", f"{name}-c") == []
    assert compose_objects("volumes", f"{name}-c") == []
    assert len(compose_objects("containers", f"{name}-a")) == 2  # init (exited) and api

    assert staged.exists()  # the rollback left the copy the two running stacks mount
    assert dockyard("down", str(project), "-p", f"{name}-a").returncode == 0
    assert staged.exists()  # stack b still mounts it
    assert dockyard("down", str(project), "-p", f"{name}-b").returncode == 0
    assert not staged.exists()
