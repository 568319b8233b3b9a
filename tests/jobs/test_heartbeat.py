"""Lease renewal never waits on housekeeping: a slow stats() or purge cannot starve it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from dockyard.runtime.queue import (
    Claim,
    JobQueue,
    JobState,
    MemoryQueue,
    NewJob,
    QueueStats,
    sqlite,
)
from dockyard.runtime.worker import Policy, Result, Worker
from tests.jobs.conftest import RedisServer
from tests.support.clock import FakeClock


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


def _finished_jobs(queue: JobQueue, clock: FakeClock, n: int) -> str:
    """`n` jobs finished an hour ago and one fresh queued job (its id returned)."""
    queue.put_many([NewJob(i) for i in range(n)])
    for claim in queue.claim(n, 60, "w"):
        queue.ack(claim, "done")
    clock.advance(3600)
    return queue.put_many([NewJob("fresh")])[0].id


def test_sqlite_purge_deletes_in_chunks_until_none_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "PURGE_CHUNK", 10)
    clock = FakeClock()
    queue = sqlite.SqliteQueue(tmp_path / "jobs.db", clock=clock)
    keep = _finished_jobs(queue, clock, 25)
    deletes: list[str] = []
    queue._db.set_trace_callback(
        lambda sql: deletes.append(sql) if sql.lstrip().startswith("DELETE") else None
    )
    assert queue.purge_expired(retention_s=60) == 25
    assert len(deletes) == 4, deletes  # 10 + 10 + 5, then one that finds nothing
    assert [j.id for j in queue.list(limit=10)] == [keep]
    queue.close()


@pytest.mark.redis
def test_redis_purge_deletes_in_chunks_until_none_is_left(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis as redis_client

    from dockyard.runtime.queue import redis as redis_queue

    monkeypatch.setattr(redis_queue, "PURGE_CHUNK", 10)
    clock = FakeClock()
    queue = redis_queue.RedisQueue(
        redis_server.url, namespace=f"purge-{uuid.uuid4().hex[:8]}", clock=clock
    )
    keep = _finished_jobs(queue, clock, 25)
    server = redis_client.Redis.from_url(redis_server.url)

    def chunk_reads() -> int:
        """ZRANGEBYSCORE calls, counted by the server: the purge script runs one per chunk."""
        stats = server.info("commandstats")
        return int(stats.get("cmdstat_zrangebyscore", {}).get("calls", 0))

    before = chunk_reads()
    assert queue.purge_expired(retention_s=60) == 25
    assert chunk_reads() - before == 4  # 10 + 10 + 5, then one that finds nothing
    assert [j.id for j in queue.list(limit=10)] == [keep]
    queue.close()
