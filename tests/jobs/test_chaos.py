"""Chaos: 1,000 jobs, several worker processes, kill -9 at random until the queue drains.

Every job must end done or dead-lettered, none lost, every done result right, and no job may be
acknowledged twice (each worker logs its successful acks; a stale one is logged as "stale").
"""

from __future__ import annotations

import collections
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.queue import JobQueue, JobState, NewJob
from tests.jobs.procs import WorkerProcess, make_project

# DOCKYARD_CHAOS_JOBS=10000 runs the big version (minutes); CI runs 1,000.
JOBS = int(os.environ.get("DOCKYARD_CHAOS_JOBS", "1000"))
POISON_EVERY, WORKERS = 97, 3
pytestmark = pytest.mark.slow


def chaos_settings(backend: str, request: pytest.FixtureRequest, root: Path) -> dict[str, Any]:
    common = {"batch_size": 16, "lease_s": 1.0, "heartbeat_s": 0.2, "poll_s": 0.05,
              "max_attempts": 5, "backoff_s": 0.05, "backoff_max_s": 0.2}  # fmt: skip
    if backend == "redis":
        url = request.getfixturevalue("redis_server").url
        return {**common, "backend": "redis", "redis_url": url, "namespace": f"chaos-{root.name}"}
    return {**common, "backend": "sqlite", "sqlite_path": str(root / "jobs.sqlite3")}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_kill_9_workers_until_drained(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = make_project(
        tmp_path / "project", "chaos", "Chaos", **chaos_settings(backend, request, tmp_path)
    )
    from dockyard.runtime.queue import open_queue
    from dockyard.spec import load_spec

    queue = open_queue(load_spec(root).worker, root)
    inputs = [-i if i % POISON_EVERY == 0 else i for i in range(1, JOBS + 1)]
    jobs = queue.put_many([NewJob(x, max_attempts=5) for x in inputs])
    exec_log = tmp_path / "executions.log"
    env = {"CHAOS_EXEC_LOG": str(exec_log), "CHAOS_ITEM_S": "0.01"}
    rng = random.Random(4)
    workers = [WorkerProcess(root, f"w{i}", env) for i in range(WORKERS)]
    kills, started = 0, time.monotonic()
    while not drained(queue) and time.monotonic() - started < 120 * max(1, JOBS // 1000):
        time.sleep(rng.uniform(0.3, 1.0))
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        kills += 1
        workers[victim] = WorkerProcess(root, f"w{kills + WORKERS}", env)
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.stop()
    report = summarise(queue, jobs, exec_log, root, kills, elapsed)
    print(json.dumps({"backend": backend, **report}))
    assert report["lost"] == 0 and report["wrong_results"] == 0 and report["double_acks"] == 0
    assert report["done"] + report["dead"] == JOBS
    # A good job dies only by losing its lease on every attempt (its workers were all killed);
    # the operator's answer is retry-dead, after which every good input has its result.
    assert set(report["dead_not_poison_errors"]) <= {"lease expired"}
    retry_good_dead_jobs(queue, root, env)
    final = [queue.get(j.id) for j in jobs]
    assert all(j and (j.state is JobState.DONE) == (j.input > 0) for j in final)
    queue.close()


def retry_good_dead_jobs(queue: JobQueue, root: Path, env: dict[str, str]) -> None:
    good = [j.id for j in queue.list(state=JobState.DEAD, limit=JOBS) if j.input > 0]
    queue.retry_dead(good)
    worker = WorkerProcess(root, "calm", env)
    deadline = time.monotonic() + 30
    while not drained(queue) and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.stop()


def drained(queue: JobQueue) -> bool:
    stats = queue.stats()
    return stats.count(JobState.QUEUED) + stats.count(JobState.RUNNING) == 0


def summarise(
    queue: JobQueue, jobs: list[Any], exec_log: Path, root: Path,
    kills: int, elapsed: float,
) -> dict[str, Any]:  # fmt: skip
    final = [queue.get(j.id) for j in jobs]
    executions = collections.Counter(int(x) for x in exec_log.read_text().split())
    acks = collections.Counter()
    for log in root.glob("w*.log"):
        for line in log.read_text().splitlines():
            if line.startswith("{") and '"job done"' in line:
                acks[json.loads(line)["job_id"]] += 1
    done = [j for j in final if j and j.state is JobState.DONE]
    dead = [j for j in final if j and j.state is JobState.DEAD]
    return {
        "jobs": len(jobs), "kills": kills, "seconds": round(elapsed, 1),
        "done": len(done), "dead": len(dead),
        "lost": sum(j is None or not j.state.final for j in final),
        "dead_poison": sum(j.input < 0 for j in dead),
        "dead_not_poison": sum(j.input > 0 for j in dead),
        "dead_not_poison_errors": sorted({(j.error or "")[:13] for j in dead if j.input > 0}),
        "wrong_results": sum(j.result != 2 * j.input for j in done),
        "double_acks": sum(n > 1 for n in acks.values()),
        "executed_more_than_once": sum(n > 1 for n in executions.values()),
        "extra_executions": sum(executions.values()) - len(executions),
        "retried_jobs": sum(j.attempts > 1 for j in done),
    }  # fmt: skip
