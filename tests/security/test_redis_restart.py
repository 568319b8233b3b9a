"""The stack's Redis keeps finished jobs across a restart, under its ACL (a real redis-server).

Redis replays a Lua script's writes from the append-only file as MULTI/EXEC, and EXEC checks the
ACL of the replaying client, which is the default user: with the default user switched off,
Redis 7 silently drops those writes on load (redis/redis#14541), so every job finished before a
restart was gone after it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from dockyard.deploy.auth import REDIS_USER, redis_acl
from dockyard.runtime.queue import JobState, NewJob
from dockyard.runtime.queue.redis import RedisQueue
from tests.conftest import free_port

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
PASSWORD = "s3cret-" + "y" * 24


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A Redis with the stack's ACL and append-only file, and a way to restart it."""
    (tmp_path / "users.acl").write_text(redis_acl(PASSWORD, "ns"))
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--dir", str(tmp_path), "--appendonly", "yes", "--aclfile", "users.acl"]  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    procs = [start(command, url)]

    def restart() -> None:
        procs[0].terminate()  # SIGTERM: Redis flushes the append-only file and exits
        procs[0].wait()
        procs[0] = start(command, url)

    yield url, restart
    procs[0].terminate()
    procs[0].wait()


def start(command: list[str], url: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, username="health", password="x").ping()
            return proc
        except (redis.ConnectionError, redis.BusyLoadingError):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def test_finished_and_queued_jobs_survive_a_restart(
    restartable: tuple[str, Callable[[], None]],
) -> None:
    url, restart = restartable
    queue = RedisQueue(url, namespace="ns", username=REDIS_USER, password=PASSWORD)
    jobs = queue.put_many([NewJob(i, owner="a") for i in range(3)])
    claims = queue.claim(2, lease_s=30, worker="w")
    assert queue.ack(claims[0], "r0") and queue.ack(claims[1], "r1")
    queue.close()
    restart()
    queue = RedisQueue(url, namespace="ns", username=REDIS_USER, password=PASSWORD)
    done = {j.id: j for j in (queue.get(c.id) for c in claims) if j is not None}
    assert [done[c.id].state for c in claims] == [JobState.DONE, JobState.DONE]
    assert sorted(str(j.result) for j in done.values()) == ["r0", "r1"]
    waiting = queue.get(jobs[2].id)
    assert waiting is not None and waiting.state is JobState.QUEUED
    assert len(queue.list(owner="a")) == 3
    queue.close()
