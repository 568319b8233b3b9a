"""Payload logging: off by default; when on, redacted JSON lines rotating at their size cap."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from dockyard.errors import SpecError
from dockyard.runtime.monitor.payloadlog import parse_path, redact
from dockyard.spec import load_spec
from tests.conftest import Server
from tests.monitoring.conftest import project, value

Serve = type[Server]
LOGGED = """[monitoring.payload_log]
enabled = true
path = "logs/payloads.jsonl"
max_bytes = 2048
backups = 2
redact = ["input.email", "output.probability"]
"""


def person(i: int) -> dict[str, object]:
    return {"email": f"secret{i}@example.org", "age": 20 + i, "country": "fr"}


def post_many(url: str, count: int) -> None:
    with httpx.Client(base_url=url) as client:
        for i in range(count):
            assert client.post("/predict", json={"inputs": [person(i)]}).status_code == 200
    deadline = time.monotonic() + 10
    while (value(url, "dockyard_monitor_recorded_total") or 0) < count:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # the recorder writes the payload log in the same pass, flushed per line


def test_payload_log_rotates_at_its_cap_without_redacted_fields(
    tmp_path: Path, serve: Serve
) -> None:
    root = project(tmp_path / "p", "profile", "Profile", LOGGED)
    server = serve(root)
    server.wait("/readyz")
    post_many(server.url, 120)
    logs = root / "logs"
    files = sorted(p.name for p in logs.iterdir())
    assert files == ["payloads.jsonl", "payloads.jsonl.1", "payloads.jsonl.2"]
    text = ""
    for path in logs.iterdir():
        assert path.stat().st_size <= 2048
        text += path.read_text()
    assert "secret" not in text and "example.org" not in text and "probability" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(set(line["input"]) == {"age", "country"} for line in lines)
    assert all(set(line["output"]) == {"label"} for line in lines)
    newest = json.loads((logs / "payloads.jsonl").read_text().splitlines()[-1])
    assert newest["input"] == {"age": 139.0, "country": "fr"}
    assert newest["model"] == "profile" and newest["id"].endswith("/0")


def test_payload_log_is_off_by_default(tmp_path: Path, serve: Serve) -> None:
    root = project(tmp_path / "p", "profile", "Profile")
    server = serve(root)
    server.wait("/readyz")
    post_many(server.url, 5)
    assert not (root / ".dockyard" / "monitor" / "payloads.jsonl").exists()
    assert "secret" not in server.log.read_text()


def test_payload_log_to_stdout(tmp_path: Path, serve: Serve) -> None:
    toml = '[monitoring.payload_log]\nenabled = true\nstdout = true\nredact = ["input.email"]\n'
    server = serve(project(tmp_path / "p", "profile", "Profile", toml))
    server.wait("/readyz")
    post_many(server.url, 3)
    lines = [json.loads(x) for x in server.log.read_text().splitlines() if '"input"' in x]
    assert [line["input"]["age"] for line in lines] == [20.0, 21.0, 22.0]
    assert "secret" not in server.log.read_text()


def test_redaction_paths() -> None:
    assert parse_path("input.user.email") == ("input", ["user", "email"])
    assert parse_path("input[2]") == ("input", [2])
    assert redact({"user": {"email": "a", "n": 1}}, ["user", "email"]) == {"user": {"n": 1}}
    assert redact([1, 2, 3], [1]) == [1, "[redacted]", 3]
    assert redact({"a": 1}, ["missing"]) == {"a": 1}


def test_a_bad_redaction_path_is_a_spec_error(tmp_path: Path) -> None:
    toml = '[monitoring.payload_log]\nredact = ["email"]\n'
    root = project(tmp_path / "p", "profile", "Profile", toml)
    with pytest.raises(SpecError) as info:
        load_spec(root)
    assert "monitoring.payload_log.redact" in str(info.value)
    assert "'input.email'" in str(info.value)


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
