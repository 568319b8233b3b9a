"""Fixtures of the jobs tests: a movable clock, a real redis-server, a queue per back end."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.runtime.queue import JobQueue, MemoryQueue
from tests.support.clock import FakeClock
from tests.support.ports import free_port

MODELS = Path(__file__).parent / "models"
BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]


class RedisServer:
    """A throwaway redis-server with an append-only file, so a restart keeps the data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


QueueFactory = Callable[[], JobQueue]


@pytest.fixture(params=BACKENDS)
def open_backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[QueueFactory]:
    """Opens connections to one fresh queue of the parametrised back end (all share its data)."""
    opened: list[JobQueue] = []
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    memory = MemoryQueue(clock)

    def factory() -> JobQueue:
        queue: JobQueue
        if request.param == "memory":
            queue = memory
        elif request.param == "sqlite":
            from dockyard.runtime.queue.sqlite import SqliteQueue

            queue = SqliteQueue(tmp_path / "jobs.sqlite3", clock)
        else:
            from dockyard.runtime.queue.redis import RedisQueue

            server = request.getfixturevalue("redis_server")
            queue = RedisQueue(server.url, namespace=namespace, clock=clock)
        opened.append(queue)
        return queue

    yield factory
    for queue in opened:
        queue.close()


@pytest.fixture
def queue(open_backend: QueueFactory) -> JobQueue:
    return open_backend()
