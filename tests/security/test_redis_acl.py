"""The stack's Redis ACL, on a real redis-server: the queue works as its user, nothing else does."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dockyard.deploy.auth import REDIS_USER
from dockyard.runtime.queue import JobState, NewJob, open_queue
from dockyard.runtime.queue.redis import RedisQueue
from dockyard.spec.jobs import Worker
from tests.security.acl_redis import AclRedis

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
PASSWORD = "s3cret-" + "x" * 24


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[str]:
    server = AclRedis(tmp_path, PASSWORD, "ns")
    yield server.url
    server.stop()


def test_the_queue_runs_every_operation_as_its_acl_user(acl_redis: str) -> None:
    queue = RedisQueue(acl_redis, namespace="ns", username=REDIS_USER, password=PASSWORD)
    jobs = queue.put_many([NewJob(i, webhook="https://example.com/h", owner="a") for i in range(4)])
    claims = queue.claim(4, lease_s=30, worker="w")
    assert queue.extend(claims, 30) == {c.id for c in claims}
    assert queue.ack(claims[0], "r0") and queue.ack_many([(claims[1], "r1")]) == [True]
    assert queue.nack(claims[2], "boom", 0) and queue.dead_letter(claims[3], "bad")
    assert queue.retry_dead() == 1
    assert queue.cancel(jobs[3].id).state is JobState.CANCELLED
    assert len(queue.list(owner="a")) == 4 and queue.get(jobs[0].id) is not None
    assert queue.stats().count(JobState.DONE) == 2
    hooks = queue.claim_webhooks(4, 10)
    queue.record_webhook(hooks[0].id, None, None)
    assert queue.purge_expired(0) >= 0
    queue.close()


def test_no_login_no_access_and_the_user_is_fenced_in(acl_redis: str) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(acl_redis).get("{ns}:anything")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(acl_redis, username=REDIS_USER, password="wrong").ping()
    user = redis.Redis.from_url(acl_redis, username=REDIS_USER, password=PASSWORD)
    for refused in (
        lambda: user.keys("*"),
        lambda: user.flushall(),
        lambda: user.config_get("*"),
        lambda: user.hgetall("other:job:1"),  # outside the queue's namespace
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            refused()
    health = redis.Redis.from_url(acl_redis, username="health", password="any")
    assert health.ping()
    with pytest.raises(redis.exceptions.NoPermissionError):
        health.hgetall("{ns}:job:1")


def test_open_queue_logs_in_with_the_environment_its_entry_point_passes(
    acl_redis: str, tmp_path: Path
) -> None:
    password_file = tmp_path / "redis_password"
    password_file.write_text(PASSWORD + "\n")
    environ = {
        "DOCKYARD_REDIS_PASSWORD_FILE": str(password_file),
        "DOCKYARD_REDIS_USER": REDIS_USER,
    }
    worker = Worker(backend="redis", redis_url=acl_redis, namespace="ns")
    queue = open_queue(worker, tmp_path, environ)
    assert queue.put_many([NewJob(1)]) and queue.stats().count(JobState.QUEUED) == 1
    queue.close()
    anonymous = open_queue(worker, tmp_path)  # no environment passed: no login
    with pytest.raises(redis.AuthenticationError):
        anonymous.stats()
    anonymous.close()
