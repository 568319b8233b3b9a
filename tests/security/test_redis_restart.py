"""The stack's Redis keeps finished jobs across a restart, under its ACL (a real redis-server).

Redis replays a Lua script's writes from the append-only file as MULTI/EXEC, and EXEC checks the
ACL of the replaying client, which is the default user: with the default user switched off,
Redis 7 silently drops those writes on load (redis/redis#14541), so every job finished before a
restart was gone after it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.deploy.auth import REDIS_USER
from dockyard.runtime.queue import JobState, NewJob
from dockyard.runtime.queue.redis import RedisQueue
from tests.security.acl_redis import AclRedis

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
PASSWORD = "s3cret-" + "y" * 24


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[AclRedis]:
    """A Redis with the stack's ACL and an append-only file, as stacks run it."""
    server = AclRedis(tmp_path, PASSWORD, "ns", "--appendonly", "yes")
    yield server
    server.stop()


def test_finished_and_queued_jobs_survive_a_restart(restartable: AclRedis) -> None:
    url = restartable.url
    queue = RedisQueue(url, namespace="ns", username=REDIS_USER, password=PASSWORD)
    jobs = queue.put_many([NewJob(i, owner="a") for i in range(3)])
    claims = queue.claim(2, lease_s=30, worker="w")
    assert queue.ack(claims[0], "r0") and queue.ack(claims[1], "r1")
    queue.close()
    restartable.restart()
    queue = RedisQueue(url, namespace="ns", username=REDIS_USER, password=PASSWORD)
    done = {j.id: j for j in (queue.get(c.id) for c in claims) if j is not None}
    assert [done[c.id].state for c in claims] == [JobState.DONE, JobState.DONE]
    assert sorted(str(j.result) for j in done.values()) == ["r0", "r1"]
    waiting = queue.get(jobs[2].id)
    assert waiting is not None and waiting.state is JobState.QUEUED
    assert len(queue.list(owner="a")) == 3
    queue.close()
