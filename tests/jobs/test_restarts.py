"""Real processes: the API and the queue back end restart mid-run and no submitted job is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.cli.main import main as cli
from dockyard.runtime.queue import JobState, NewJob, open_queue
from dockyard.spec import load_spec
from tests.jobs.conftest import RedisServer
from tests.jobs.procs import WorkerProcess, make_project
from tests.support.waiting import eventually

FAST = {"batch_size": 8, "lease_s": 2.0, "heartbeat_s": 0.2, "poll_s": 0.05, "backoff_s": 0.05}
pytestmark = pytest.mark.slow


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    cli(["jobs", *args])
    return json.loads(capsys.readouterr().out)


def wait_for(url: str, done: int, timeout: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts: dict[str, int] = httpx.get(f"{url}/jobs/stats").json()["counts"]
        if counts["done"] + counts["dead"] >= done:
            return counts
        time.sleep(0.1)
    raise AssertionError(f"jobs never finished: {counts}")


def test_api_restart_keeps_jobs_and_the_cli_drives_them(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(
        tmp_path, "poison", "Poison", sqlite_path="jobs.sqlite3", max_attempts=1, **FAST
    )
    api = serve(root)
    api.wait("/readyz")
    url = ["--url", api.url]
    submitted = run_cli(capsys, "submit", "[1, 2, -3]", "--batch", "--key", "k1", *url)
    assert run_cli(capsys, "submit", "[1, 2, -3]", "--batch", "--key", "k1", *url) == submitted
    api.stop()
    api = serve(root)  # restarted before any worker ran: the jobs are still there
    api.wait("/readyz")
    url = ["--url", api.url]
    assert len(run_cli(capsys, "list", "--state", "queued", *url)["jobs"]) == 3
    worker = WorkerProcess(root, "w1")
    assert wait_for(api.url, 3) == {"queued": 0, "running": 0, "done": 2, "dead": 1, "cancelled": 0}
    first, _, poison = (j["id"] for j in submitted["jobs"])
    assert run_cli(capsys, "status", first, *url)["result"] == 2
    error = run_cli(capsys, "status", poison, *url)["error"]
    assert "worker log" in error and "negative input" not in error, "the exception stays in the log"
    assert healthcheck(root, worker) == 0
    with pytest.raises(SystemExit) as exit_info:
        cli(["jobs", "cancel", first, *url])
    assert exit_info.value.code == 7
    assert run_cli(capsys, "retry-dead", poison, *url) == {"retried": 1}
    assert worker.stop() == 0
    assert healthcheck(root, worker) == 1  # a stopped worker is unhealthy


def executed(exec_log: Path) -> int:
    """How many inputs the model has run, from the chaos model's execution log."""
    return len(exec_log.read_text().splitlines()) if exec_log.exists() else 0


def healthcheck(root: Path, worker: WorkerProcess) -> int:
    env = {"DOCKYARD_HEARTBEAT_FILE": str(worker.heartbeat), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-m", "dockyard.runtime", "healthcheck", str(root), "--worker"]
    return subprocess.run(argv, env=env, capture_output=True, check=False).returncode


@pytest.mark.redis
def test_redis_crash_mid_run_loses_no_job(tmp_path: Path, redis_server: RedisServer) -> None:
    server = RedisServer(tmp_path)
    server.start()
    root = make_project(
        tmp_path / "p", "chaos", "Chaos", backend="redis", redis_url=server.url, **FAST
    )
    queue = open_queue(load_spec(root).worker, root)
    jobs = queue.put_many([NewJob(i) for i in range(1, 301)])
    env = {"CHAOS_EXEC_LOG": str(tmp_path / "exec.log"), "CHAOS_ITEM_S": "0.01"}
    worker = WorkerProcess(root, "w1", env)
    eventually(lambda: queue.stats().count(JobState.DONE) > 0, 30, what="the worker running")
    assert server.proc is not None
    server.proc.kill()  # kill -9: only what the append-only file holds survives
    server.proc.wait()
    done_before = executed(tmp_path / "exec.log")
    assert 0 < done_before < 300, f"Redis must die mid-run, with {done_before} of 300 run"
    # The worker meets the outage and keeps living (leases protect the claimed jobs).
    eventually(lambda: "failed" in worker.log.read_text(), 20, what="the worker seeing Redis gone")
    assert worker.alive
    server.start()
    deadline = time.monotonic() + 60
    while queue.stats().count(JobState.DONE) < 300 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.stop() == 0
    assert [queue.get(j.id).result for j in jobs] == [2 * i for i in range(1, 301)]  # type: ignore[union-attr]
    queue.close()
    server.stop()
