"""The batcher: when it dispatches (pure, injected clock), and how it behaves under load."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import pytest

from dockyard.runtime.batching import Batcher, Outcome, Pending, QueueFull, next_batch
from tests.support.clock import FakeClock


def queued(*times: float) -> deque[Pending]:
    loop = asyncio.new_event_loop()
    try:
        return deque(Pending(i, loop.create_future(), t) for i, t in enumerate(times))
    finally:
        loop.close()


def test_nothing_queued_means_sleep() -> None:
    assert next_batch(deque(), 0.0, max_batch=4, max_wait=0.01) is None


def test_adaptive_dispatches_at_once() -> None:
    assert next_batch(queued(100.0), 100.0, max_batch=4, max_wait=0.0) == 0.0


def test_max_wait_holds_a_partial_batch_until_the_oldest_deadline() -> None:
    clock = FakeClock(100.0)
    queue = queued(100.0, 100.002)
    clock.now = 100.004
    assert next_batch(queue, clock(), max_batch=4, max_wait=0.010) == pytest.approx(0.006)
    clock.now = 100.011
    assert next_batch(queue, clock(), max_batch=4, max_wait=0.010) == 0.0


def test_full_batch_goes_without_waiting() -> None:
    assert next_batch(queued(100, 100, 100, 100), 100.0, max_batch=4, max_wait=1.0) == 0.0


async def _echo(items: list[Any]) -> list[Outcome]:
    await asyncio.sleep(0.02)
    return [Outcome(value=(x, len(items))) for x in items]


async def test_concurrent_inputs_share_batches() -> None:
    batcher = Batcher(_echo, max_batch=8)
    runner = asyncio.create_task(batcher.run())
    first = batcher.submit([0])
    await asyncio.sleep(0.005)  # the model is now busy with the lone first input
    rest = batcher.submit(list(range(1, 11)))
    results = await asyncio.gather(*first, *rest)
    batcher.close()
    await runner
    assert results[0] == (0, 1), "a lone request is not held back to wait for company"
    sizes = [size for _, size in results[1:]]
    assert sizes == [8] * 8 + [2] * 2, "arrivals while busy form full batches, in order"
    assert [x for x, _ in results] == list(range(11))


async def test_queue_bound_refuses_whole_requests() -> None:
    batcher = Batcher(_echo, max_batch=2, queue_size=3)
    batcher.submit([1, 2])
    with pytest.raises(QueueFull):
        batcher.submit([3, 4])
    assert batcher.depth == 2, "a refused request queues none of its inputs"


async def test_done_futures_are_skipped() -> None:
    seen: list[Any] = []

    async def record(items: list[Any]) -> list[Outcome]:
        seen.extend(items)
        return [Outcome(value=x) for x in items]

    batcher = Batcher(record)
    gone, kept = batcher.submit(["gone", "kept"])
    gone.cancel()
    runner = asyncio.create_task(batcher.run())
    assert await kept == "kept"
    batcher.close()
    await runner
    assert seen == ["kept"]


async def test_errors_reach_only_their_own_future() -> None:
    async def half(items: list[Any]) -> list[Outcome]:
        return [Outcome(error=ValueError(x)) if x == "bad" else Outcome(value=x) for x in items]

    batcher = Batcher(half)
    futures = batcher.submit(["ok", "bad", "fine"])
    runner = asyncio.create_task(batcher.run())
    results = await asyncio.gather(*futures, return_exceptions=True)
    batcher.close()
    await runner
    assert results[0] == "ok" and results[2] == "fine"
    assert isinstance(results[1], ValueError)


async def test_close_drains_then_refuses() -> None:
    batcher = Batcher(_echo, max_batch=2)
    futures = batcher.submit([1, 2, 3])
    runner = asyncio.create_task(batcher.run())
    batcher.close()
    with pytest.raises(QueueFull):
        batcher.submit([4])
    await runner
    assert [f.result()[0] for f in futures] == [1, 2, 3]
