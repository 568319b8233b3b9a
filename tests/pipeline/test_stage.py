"""Stage workers in-process on the in-memory queue: forwarding, retries, dead letters, metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from dockyard.runtime.pipeline.local import LocalStages
from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.pipeline.queues import StageQueues, envelope, forward
from dockyard.runtime.pipeline.stage import StageExecutor
from dockyard.runtime.pipeline.status import ItemState, ItemStatus, item_status
from dockyard.runtime.queue import JobState, MemoryQueue
from dockyard.runtime.worker.loop import Result
from dockyard.spec.pipeline import Pipeline, Stage


def pipeline(**first: object) -> Pipeline:
    options = {"backoff_s": 0.01, "backoff_max_s": 0.02, "batch_size": 4}
    return Pipeline(
        backend="memory",
        poll_s=0.01,
        stages=(
            Stage(name="double", path="-", **{**options, **first}),  # type: ignore[arg-type]
            Stage(name="label", path="-", **options),  # type: ignore[arg-type]
        ),
    )


class Double:
    """Doubles ints; 13 always fails, 7 fails on its first attempt only (its own memory)."""

    def __init__(self) -> None:
        self.seen: set[object] = set()

    def __call__(self, values: list[object]) -> list[Result]:
        out = []
        for v in values:
            if v == 13 or (v == 7 and 7 not in self.seen):
                self.seen.add(v)
                out.append(Result(error=f"cannot double {v}"))
            else:
                out.append(Result(value=int(v) * 2))  # type: ignore[call-overload]
        return out


def label(values: list[object]) -> list[Result]:
    return [Result(value=f"n={v}") for v in values]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[StageQueues, PipelineMetrics, LocalStages]]:
    spec = pipeline(max_attempts=2)
    queues, metrics = StageQueues(spec, tmp_path, {}), PipelineMetrics()
    metrics.watch(queues.items)
    stages = LocalStages(spec, queues, metrics)
    stages.start_one("double", Double())
    stages.start_one("label", label)
    yield queues, metrics, stages
    stages.stop()


def wait_final(queues: StageQueues, item: str, timeout: float = 10.0) -> ItemStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = item_status(item, queues.trace(item))
        if status is not None and status.state.final:
            return status
        time.sleep(0.01)
    raise AssertionError(f"item {item} not final: {item_status(item, queues.trace(item))}")


def test_items_flow_through_every_stage(
    running: tuple[StageQueues, PipelineMetrics, LocalStages],
) -> None:
    queues, _, _ = running
    items = [queues.submit(n).batch for n in range(5)]
    outputs = [wait_final(queues, str(i)).output for i in items]
    assert outputs == [f"n={2 * n}" for n in range(5)]


def test_a_failing_item_is_retried_then_dead_lettered_without_blocking_others(
    running: tuple[StageQueues, PipelineMetrics, LocalStages],
) -> None:
    queues, metrics, _ = running
    poison, flaky, fine = (str(queues.submit(n).batch) for n in (13, 7, 1))
    dead = wait_final(queues, poison)
    assert (dead.state, dead.stage, dead.error) == (ItemState.DEAD, "double", "cannot double 13")
    assert dead.stages[0].attempts == 2
    assert wait_final(queues, flaky).output == "n=14"
    assert wait_final(queues, fine).output == "n=2"
    text = generate_latest(metrics.registry).decode()
    assert 'dockyard_pipeline_items_total{outcome="failed",stage="double"} 3.0' in text
    assert 'dockyard_pipeline_items_total{outcome="ok",stage="label"} 2.0' in text
    assert 'dockyard_pipeline_queue{stage="double",state="dead"} 1.0' in text
    assert 'dockyard_pipeline_latency_seconds_count{stage="label"} 2.0' in text


def test_forwarding_twice_stores_the_item_once() -> None:
    queue = MemoryQueue()
    sent = envelope("item-1", 5, 0.0)
    first = forward(queue, [sent], [10], max_attempts=3)
    again = forward(queue, [sent], [10], max_attempts=3)
    assert first[0].id == again[0].id
    assert queue.stats().count(JobState.QUEUED) == 1


def test_a_broken_next_queue_fails_the_item_for_retry() -> None:
    class Down(MemoryQueue):
        def put_many(self, jobs: object) -> list[object]:  # type: ignore[override]
            raise ConnectionError("queue down")

    stage = Stage(name="next", path="-")
    run = StageExecutor("first", label, PipelineMetrics(), (Down(), stage))  # type: ignore[arg-type]
    [result] = run([envelope("i", 1, 0.0)])
    assert result.error is not None and "queue down" in result.error and not result.permanent


def test_something_that_is_not_an_envelope_is_dead_lettered_at_once() -> None:
    [result] = StageExecutor("only", label, PipelineMetrics())([{"not": "an envelope"}])
    assert result.permanent
