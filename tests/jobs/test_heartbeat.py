"""Lease renewal never waits on housekeeping: a slow stats() or purge cannot starve it."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from dockyard.runtime.queue import Claim, JobState, MemoryQueue, NewJob, QueueStats
from dockyard.runtime.queue.sqlite import SqliteQueue
from dockyard.runtime.worker import Policy, Result, Worker


class SlowHousekeeping(MemoryQueue):
    """The in-memory queue whose stats() and purge block, like a big SQLite scan or delete."""

    def __init__(self) -> None:
        super().__init__()
        self.unblock = threading.Event()
        self.renewals: list[float] = []

    def stats(self) -> QueueStats:
        self.unblock.wait(10)
        return super().stats()

    def purge_expired(self, retention_s: float) -> int:
        self.unblock.wait(10)
        return super().purge_expired(retention_s)

    def extend(self, claims: Sequence[Claim], lease_s: float) -> set[str]:
        self.renewals.append(time.monotonic())
        return super().extend(claims, lease_s)


def test_leases_are_renewed_while_stats_and_purge_are_slow() -> None:
    queue = SlowHousekeeping()
    queue.put_many([NewJob(1)])
    release = threading.Event()

    def hold(inputs: list[object]) -> Sequence[Result]:
        release.wait(10)
        return [Result(value=x) for x in inputs]  # type: ignore[misc]

    policy = Policy(lease_s=1.0, poll_s=0.01, heartbeat_s=0.05)
    worker = Worker(queue, hold, policy, "w1")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(0.6)  # the job is held; stats() and purge are stuck the whole time
        renewals = len([t for t in queue.renewals if t > time.monotonic() - 0.5])
    finally:
        queue.unblock.set()
        release.set()
        worker.stop()
        thread.join(10)
    assert renewals >= 5, queue.renewals  # one per heartbeat_s, not one in total
    assert queue.stats().count(JobState.DONE) == 1


def test_sqlite_purge_removes_every_expired_job_in_chunks(tmp_path: Path) -> None:
    now = [1000.0]
    queue = SqliteQueue(tmp_path / "jobs.db", clock=lambda: now[0])
    queue.put_many([NewJob(i) for i in range(2_500)])
    for claim in queue.claim(2_500, 60, "w"):
        queue.ack(claim, None)
    keep = queue.put_many([NewJob("fresh")])
    now[0] += 3600
    assert queue.purge_expired(retention_s=60) == 2_500
    assert [j.id for j in queue.list(limit=10)] == [keep[0].id]
    queue.close()
