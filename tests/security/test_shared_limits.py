"""Two API processes sharing the stack's Redis share each key's rate limit and in-flight cap."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.deploy.auth import REDIS_USER
from tests.conftest import Server
from tests.fixtures.projects import make_project
from tests.security.acl_redis import AclRedis
from tests.security.conftest import bearer, new_key, write_keys

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
PASSWORD = "limits-" + "p" * 24
NAMESPACE = "lockdoors"


@pytest.fixture
def stack_redis(tmp_path: Path) -> Iterator[AclRedis]:
    """redis-server with the stack's own ACL: the limiter runs as the queue's user."""
    server = AclRedis(tmp_path, PASSWORD, NAMESPACE)
    yield server
    if server.proc.poll() is None:
        server.stop()


def test_two_api_processes_share_one_limit_per_key_through_redis(
    tmp_path: Path, stack_redis: AclRedis
) -> None:
    url = stack_redis.url
    alice, bob, carol = new_key(), new_key(), new_key()
    keys = tmp_path / "keys"
    write_keys(keys, [(alice, "alice", "predict rps=0.2 burst=4"), (bob, "bob", "predict"),
                      (carol, "carol", "predict inflight=1")])  # fmt: skip
    password = tmp_path / "redis_password"
    password.write_text(PASSWORD + "\n")
    worker = {"enabled": True, "backend": "redis", "redis_url": url, "namespace": NAMESPACE}
    root = make_project(tmp_path / "project", "slow", worker=worker, auth={"enabled": True})
    env = {"DOCKYARD_AUTH_KEYS_FILE": str(keys), "DOCKYARD_REDIS_USER": REDIS_USER,
           "DOCKYARD_REDIS_PASSWORD_FILE": str(password)}  # fmt: skip
    servers = [Server(root, env=env), Server(root, env=env)]
    try:
        for server in servers:
            server.wait("/readyz", timeout=60)
        a, b = (httpx.Client(base_url=s.url, timeout=30) for s in servers)

        # alice: a burst of 4 in all, whichever process she reaches
        answers = [(a, b)[i % 2].post("/predict", json={"inputs": [0.0]}, headers=bearer(alice))
                   for i in range(12)]  # fmt: skip
        codes = [r.status_code for r in answers]
        assert codes.count(200) == 4, codes  # per process it would be 4 each: 8
        assert {r.headers["retry-after"] for r in answers if r.status_code == 429} <= {"4", "5"}
        assert 429 in codes[0::2] and 429 in codes[1::2]  # both processes refuse
        # bob has no limit, and alice's flood leaves him alone
        assert all(c.post("/predict", json={"inputs": [0.0]}, headers=bearer(bob)).status_code
                   == 200 for c in (a, b))  # fmt: skip

        # carol: one request in flight in all; a slow one on A holds off B until it answers
        slow = threading.Thread(
            target=a.post, args=("/predict",), kwargs={"json": {"inputs": [2.0]},
                                                       "headers": bearer(carol)},
        )  # fmt: skip
        slow.start()
        time.sleep(0.8)
        held = b.post("/predict", json={"inputs": [0.0]}, headers=bearer(carol))
        assert held.status_code == 429 and held.headers["retry-after"] == "1"
        slow.join()
        assert b.post("/predict", json={"inputs": [0.0]}, headers=bearer(carol)).status_code == 200

        # Redis gone: each process limits on its own again instead of refusing everyone
        stack_redis.stop()
        assert b.post("/predict", json={"inputs": [0.0]}, headers=bearer(carol)).status_code == 200
        a.close()
        b.close()
    finally:
        for server in servers:
            server.stop()
