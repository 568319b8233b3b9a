"""A stage process killed with -9 in the middle of an item loses nothing and duplicates nothing.

Real processes: the front (no stages in it) and one process per stage, on SQLite queues. The
slow stage is killed while it holds an item; its lease expires, a new replica runs it again.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.queue import JobState
from dockyard.runtime.queue.sqlite import SqliteQueue
from tests.pipeline.conftest import Front, Proc, make_pipeline

pytestmark = pytest.mark.slow  # kill -9 of real stage processes

ITEMS = 12


def test_kill_9_mid_item_loses_nothing(tmp_path: Path, procs: list[Proc]) -> None:
    slow = {"batch_size": 1, "lease_s": 1.0, "backoff_s": 0.05}
    root = make_pipeline(tmp_path, [("shout", {}), ("length", slow)])
    run_log = tmp_path / "runs.log"
    env = {"PIPE_SLEEP_S": "0.2", "PIPE_RUN_LOG": str(run_log)}
    front = Front(root, local=False)
    procs.append(front)
    procs.append(Proc(tmp_path / "shout.log", "stage", "shout", str(root), env=env))
    victim = Proc(tmp_path / "length-1.log", "stage", "length", str(root), env=env)
    procs.append(victim)
    front.wait_ready()
    texts = [f"item {i:02d}" for i in range(ITEMS)]
    items = [
        httpx.post(front.url + "/pipeline/jobs", json={"input": t}).json()["id"] for t in texts
    ]
    held = wait_for_running(SqliteQueue(root / "queues" / "length.sqlite3"))
    victim.kill()
    replacement = Proc(tmp_path / "length-2.log", "stage", "length", str(root), env=env)
    procs.append(replacement)
    outputs = [wait_done(front, item) for item in items]
    assert outputs == [len(t.upper() + "!") for t in texts]
    runs = collections.Counter(run_log.read_text().splitlines())
    assert runs[f"{replacement.proc.pid} {held.input['value']}"] == 1  # run again, once
    assert f"{victim.proc.pid} {held.input['value']}" not in runs  # killed before it finished
    length = SqliteQueue(root / "queues" / "length.sqlite3")
    assert length.stats().count(JobState.DONE) == ITEMS  # one job per item, none lost or doubled
    killed = length.get(held.id)
    assert killed is not None and killed.attempts == 2 and killed.state is JobState.DONE


def wait_for_running(queue: SqliteQueue, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = queue.list(state=JobState.RUNNING)
        if running:
            return running[0]
        time.sleep(0.01)
    raise AssertionError("the slow stage never took an item")


def wait_done(front: Front, item: str, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{front.url}/pipeline/jobs/{item}").json()
        if body["state"] == "done":
            return body["output"]
        assert body["state"] in ("queued", "running"), body
        time.sleep(0.05)
    raise AssertionError(f"item {item} never finished")
