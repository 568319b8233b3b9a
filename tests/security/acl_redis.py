"""A real redis-server running the stack's own ACL (`deploy.auth.redis_acl`), for the tests of
the queue's login, the shared rate limits and restarts from the append-only file."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from dockyard.deploy.auth import redis_acl
from tests.conftest import free_port


class AclRedis:
    """redis-server on a free loopback port, data in `directory`; started on creation."""

    def __init__(self, directory: Path, password: str, namespace: str, *options: str) -> None:
        acl = directory / "users.acl"
        acl.write_text(redis_acl(password, namespace))
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self.command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                        "--dir", str(directory), "--aclfile", str(acl), *options]  # fmt: skip
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        """Start and wait until the health user's PING answers (the data is loaded by then)."""
        proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, username="health", password="x").ping()
                return proc
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file and exits."""
        self.proc.terminate()
        self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.proc = self._start()
