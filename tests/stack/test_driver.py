"""The Compose driver's pure parts and the log formatter, without an engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.deploy.compose.logs import merged, parse, pretty
from dockyard.deploy.stack import (
    Container,
    Project,
    compose_binary,
    down_args,
    logs_args,
    parse_ps,
    parse_scale,
    up_args,
)
from dockyard.errors import EngineError


def test_argv_names_project_directory_name_and_absolute_files() -> None:
    project = Project(Path("/p"), "demo", ("compose.yaml", "compose.dev.yaml"), ("dc",))
    assert project.argv("ps") == [
        "dc", "--project-directory", "/p", "-p", "demo",
        "-f", "/p/compose.yaml", "-f", "/p/compose.dev.yaml", "ps",
    ]  # fmt: skip


def test_up_waits_for_health_and_scales() -> None:
    args = up_args(90.4, {"worker": 3, "api": 2})
    assert args[:5] == ["up", "--detach", "--wait", "--wait-timeout", "90"]
    assert args[-4:] == ["--scale", "api=2", "--scale", "worker=3"]


def test_down_keeps_volumes_unless_asked() -> None:
    assert "--volumes" not in down_args(False)
    assert down_args(True)[-1] == "--volumes"


def test_logs_are_timestamped_and_prefixed() -> None:
    assert logs_args(True, 10, ("api",)) == [
        "logs", "--no-color", "--timestamps", "--follow", "--tail", "10", "api",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["worker", "worker=x", "=3"])
def test_scale_flags_are_checked(bad: str) -> None:
    with pytest.raises(EngineError):
        parse_scale([bad])


def test_ps_reads_json_lines_and_arrays() -> None:
    rows = [
        {"Name": "d-worker-1", "Service": "worker", "State": "running", "Health": "starting"},
        {"Name": "d-init-1", "Service": "init", "State": "exited", "Health": "", "ExitCode": 0},
        {"Name": "d-api-1", "Service": "api", "State": "running", "Health": "healthy"},
    ]
    lines = "\n".join(json.dumps(r) for r in rows)
    assert parse_ps(lines) == parse_ps(json.dumps(rows))
    ok = {c.service: c.ok for c in parse_ps(lines)}
    assert ok == {"api": True, "init": True, "worker": False}
    assert not Container("x", "init", "exited", "", 1).ok


def test_compose_binary_prefers_the_standalone() -> None:
    found = {"docker-compose": "/bin/docker-compose", "docker": "/bin/docker"}
    assert compose_binary(found.get) == ("/bin/docker-compose",)
    assert compose_binary({"docker": "/bin/docker"}.get) == ("docker", "compose")
    with pytest.raises(EngineError):
        compose_binary(lambda _: None)


def test_logs_merge_by_time_and_show_ids() -> None:
    job = {"ts": "t", "level": "info", "logger": "dockyard.worker", "message": "job done",
           "service": "digits-worker", "job_id": "j1", "worker": "w1", "attempt": 1}  # fmt: skip
    lines = [
        f"worker-1  | 2026-01-01T10:00:02.000000000Z {json.dumps(job)}",
        "api-1     | 2026-01-01T10:00:01.000000000Z Traceback (most recent call last):",
        "Attaching to api-1, worker-1",
    ]
    out = [pretty(x) for x in merged(lines)]
    assert out[0].startswith("api-1") and out[0].endswith("Traceback (most recent call last):")
    assert "10:00:02.000 INFO    job done job_id=j1 worker=w1 attempt=1" in out[1]
    assert parse("no separator here") is None
