"""Cost of a shared (Redis) rate-limit decision against the in-memory bucket, per request.

    python bench/shared_limits.py [--requests 5000]

Starts a throwaway redis-server on 127.0.0.1 and times `SharedLimiter.acquire` + `release`
(the two round trips a limited request pays) and `Bucket.take` (the in-memory decision).
Results: docs/security.md, "Rate limits: where the bucket lives".
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import time

from dockyard.runtime.auth.limiter import Bucket
from dockyard.runtime.auth.shared import RedisLimits, SharedLimiter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def shared(url: str, n: int) -> list[float]:
    limiter = SharedLimiter(RedisLimits(url, "bench", {}))
    times = []
    for _ in range(n):
        start = time.perf_counter()
        ticket = await limiter.acquire("k", 1e9, 10**9, 1000)
        assert ticket is not None and ticket.wait == 0
        await limiter.release(ticket)
        times.append(time.perf_counter() - start)
    await limiter.close()
    return times


def local(n: int) -> list[float]:
    bucket, times = Bucket(1e9, 10**9, time.monotonic()), []
    for _ in range(n):
        start = time.perf_counter()
        bucket.take(time.monotonic())
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float]) -> None:
    us = sorted(t * 1e6 for t in times)
    p99 = us[int(len(us) * 0.99)]
    print(f"{name:28} p50 {statistics.median(us):8.1f} us   p99 {p99:8.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    n = parser.parse_args().requests
    port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        report("in memory (Bucket.take)", local(n))
        report("Redis (acquire + release)", asyncio.run(shared(f"redis://127.0.0.1:{port}/0", n)))
    finally:
        redis.terminate()
        redis.wait()


if __name__ == "__main__":
    main()
