"""A taken metrics port stops every process without HTTP the same way: exit 1, a clear error."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.projects import make_project
from tests.runtime.test_drain import _pipeline_project


def _jobs(tmp: Path) -> list[str]:
    root = make_project(tmp / "jobs", "echo", worker={"enabled": True, "sqlite_path": "j.db"})
    return ["dockyard.runtime", "worker", str(root)]


def _stage(tmp: Path) -> list[str]:
    return ["dockyard.runtime.pipeline", "stage", "slow", str(_pipeline_project(tmp / "pipe"))]


def _scheduler(tmp: Path) -> list[str]:
    root = make_project(tmp / "sched", "echo")
    with (root / "dockyard.toml").open("a") as spec:
        spec.write('\n[[schedules]]\nname = "n"\ncron = "0 3 * * *"\ncommand = ["true"]\n')
    return ["dockyard.runtime.scheduler", str(root)]


@pytest.mark.parametrize("command", [_jobs, _stage, _scheduler], ids=lambda c: c.__name__[1:])
def test_taken_metrics_port_is_a_clear_error(command: object, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", *command(tmp_path)],  # type: ignore[operator]
            env={"DOCKYARD_METRICS_PORT": str(port), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert f"error: metrics port {port} cannot be opened" in done.stderr
    assert "DOCKYARD_METRICS_PORT" in done.stderr
