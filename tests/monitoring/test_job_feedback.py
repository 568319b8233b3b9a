"""Feedback by job id: a finished job's result is the prediction its true value joins."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.jobs.procs import WorkerProcess
from tests.monitoring.conftest import value

Serve = type[Server]


def test_feedback_joins_a_finished_job(tmp_path: Path, serve: Serve) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "score.py").write_text((Path(__file__).parent / "models" / "score.py").read_text())
    (root / "dockyard.toml").write_text(
        '[project]\nname = "score"\n\n[model]\nentrypoint = "score:Score"\n\n'
        f'[worker]\nenabled = true\nmetrics_port = 0\nsqlite_path = "{root / "jobs.sqlite3"}"\n'
        '\n[monitoring.feedback]\nmetric = "mae"\n'
    )
    server = serve(root)
    server.wait("/readyz")
    worker = WorkerProcess(root, "w1")
    try:
        job = httpx.post(server.url + "/jobs", json={"input": [1.0, 2.0]}).json()
        early = httpx.post(server.url + "/feedback", json={"job_id": job["id"], "value": 1})
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/jobs/{job['id']}").json()["state"] != "done":
            assert time.monotonic() < deadline, "the job never finished"
            time.sleep(0.1)
        answer = httpx.post(server.url + "/feedback", json={"job_id": job["id"], "value": 3.5})
    finally:
        worker.stop()
    assert early.status_code == 404  # not finished yet: nothing to join
    assert answer.status_code == 200, answer.text
    assert value(server.url, "dockyard_feedback_score", metric="mae") == 0.5  # |3.0 - 3.5|
    both = httpx.post(server.url + "/feedback", json={"job_id": "x", "request_id": "y", "value": 1})
    assert both.status_code == 422
    assert "exactly one of request_id or job_id" in both.json()["error"]["message"]


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
