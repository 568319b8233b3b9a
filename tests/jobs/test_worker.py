"""The worker loop against real queues: batching, retries, dead letters, poison, shutdown."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.contract import signature_of
from dockyard.runtime.queue import JobQueue, JobState, MemoryQueue, NewJob, put
from dockyard.runtime.runner import ModelRunner
from dockyard.runtime.worker import Policy, Result, Worker
from dockyard.runtime.worker.heartbeat import WorkerState, beat, is_healthy
from dockyard.runtime.worker.model import ModelExecutor
from tests.support.waiting import eventually


@pytest.fixture
def clock() -> Callable[[], float]:
    """The worker's leases and backoffs run in real time here."""
    return time.time


FAST = Policy(batch_size=4, lease_s=5, backoff_s=0, poll_s=0.01, heartbeat_s=0.05)


def doubled(inputs: list[Any]) -> Sequence[Result]:
    return [Result(value=2 * x) for x in inputs]


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(10)
        assert not thread.is_alive()


def settled(queue: JobQueue, n: int) -> Callable[[], bool]:
    return lambda: sum(queue.stats().count(s) for s in JobState if s.final) >= n


def test_runs_jobs_in_batches_and_records_results(queue: JobQueue) -> None:
    jobs = queue.put_many([NewJob(i) for i in range(10)])
    worker = Worker(queue, doubled, FAST, "w")
    with running(worker):
        eventually(settled(queue, 10))
    assert [queue.get(j.id).result for j in jobs] == [2 * i for i in range(10)]  # type: ignore[union-attr]
    sizes = worker.metrics.batch_size.collect()[0].samples
    assert next(s.value for s in sizes if s.name.endswith("_sum")) == 10
    assert next(s.value for s in sizes if s.name.endswith("_count")) <= 4


def test_failures_retry_then_dead_letter_with_the_last_error(queue: JobQueue) -> None:
    calls: list[int] = []

    def failing(inputs: list[Any]) -> Sequence[Result]:
        calls.append(len(inputs))
        return [Result(error=f"boom {len(calls)}") for _ in inputs]

    job = put(queue, NewJob("x", max_attempts=3))
    with running(Worker(queue, failing, FAST, "w")):
        eventually(settled(queue, 1))
    dead = queue.get(job.id)
    assert dead is not None and dead.state is JobState.DEAD
    assert (dead.attempts, dead.error, len(calls)) == (3, "boom 3", 3)


def test_permanent_errors_skip_retries() -> None:
    queue = MemoryQueue()
    job = put(queue, NewJob("x", max_attempts=5))
    bad = lambda inputs: [Result(error="invalid input", permanent=True) for _ in inputs]  # noqa: E731
    with running(Worker(queue, bad, FAST, "w")):
        eventually(settled(queue, 1))
    assert queue.get(job.id).attempts == 1  # type: ignore[union-attr]


def test_retry_waits_for_exponential_backoff() -> None:
    queue = MemoryQueue()
    attempts_at: list[float] = []

    def flaky(inputs: list[Any]) -> Sequence[Result]:
        attempts_at.append(time.monotonic())
        return [Result(error="flaky") if len(attempts_at) < 3 else Result(value="ok")]

    put(queue, NewJob("x", max_attempts=3))
    policy = Policy(batch_size=1, backoff_s=0.1, poll_s=0.01, heartbeat_s=0.05)
    with running(Worker(queue, flaky, policy, "w")):
        eventually(settled(queue, 1))
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2


def poison_executor(expose_errors: bool = False) -> ModelExecutor:
    from tests.jobs.models.poison import Poison

    return ModelExecutor(ModelRunner(Poison(), signature_of(Poison)), expose_errors)


def test_one_poison_input_does_not_sink_its_batch(queue: JobQueue) -> None:
    jobs = queue.put_many([NewJob(x, max_attempts=1) for x in (1, 2, -3, 4, 5, 6, 7, 8)])
    policy = Policy(batch_size=8, backoff_s=0, poll_s=0.01, heartbeat_s=0.05)
    with running(Worker(queue, poison_executor(), policy, "w")):
        eventually(settled(queue, 8))
    final = [queue.get(j.id) for j in jobs]
    assert [j.state for j in final if j] == [JobState.DONE] * 2 + [JobState.DEAD] + [
        JobState.DONE
    ] * 5
    assert final[2] is not None and final[2].error
    assert final[7] is not None and final[7].result == 16


def test_a_failed_job_shows_callers_a_generic_error_and_logs_the_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = MemoryQueue()
    job = put(queue, NewJob(-1, max_attempts=1))
    worker = Worker(queue, poison_executor(), FAST, "w")
    with caplog.at_level(logging.INFO, logger="dockyard.worker"), running(worker):
        eventually(settled(queue, 1))
    shown = queue.get(job.id)
    assert shown is not None and shown.state == JobState.DEAD
    error = shown.public()["error"]
    assert isinstance(error, str) and "negative input" not in error and "job's id" in error
    logged = [r for r in caplog.records if getattr(r, "job_id", None) == job.id]
    assert any("negative input" in str(getattr(r, "error", "")) for r in logged)


def test_expose_errors_shows_the_exception_text_in_the_job() -> None:
    queue = MemoryQueue()
    job = put(queue, NewJob(-1, max_attempts=1))
    with running(Worker(queue, poison_executor(expose_errors=True), FAST, "w")):
        eventually(settled(queue, 1))
    shown = queue.get(job.id)
    assert shown is not None and "negative input" in str(shown.public()["error"])


def test_inputs_that_no_longer_validate_are_dead_lettered_at_once() -> None:
    queue = MemoryQueue()
    job = put(queue, NewJob("not an int", max_attempts=5))
    with running(Worker(queue, poison_executor(), FAST, "w")):
        eventually(settled(queue, 1))
    dead = queue.get(job.id)
    assert dead is not None and dead.attempts == 1 and "invalid input" in (dead.error or "")


def test_graceful_stop_finishes_the_running_batch_and_releases_the_rest() -> None:
    queue = MemoryQueue()
    started = threading.Event()

    def slow(inputs: list[Any]) -> Sequence[Result]:
        started.set()
        time.sleep(0.3)
        return doubled(inputs)

    queue.put_many([NewJob(i) for i in range(6)])
    worker = Worker(queue, slow, Policy(batch_size=2, prefetch=4, poll_s=0.01), "w")
    with running(worker):
        assert started.wait(5)
        eventually(lambda: queue.stats().count(JobState.RUNNING) == 6)
    stats = queue.stats()
    assert (stats.count(JobState.DONE), stats.count(JobState.QUEUED)) == (2, 4)
    assert all(j.attempts == 0 for j in queue.list(state=JobState.QUEUED))
    assert worker.state is WorkerState.STOPPED


def test_cancel_while_running_discards_the_result() -> None:
    queue = MemoryQueue()
    started, release = threading.Event(), threading.Event()

    def blocking(inputs: list[Any]) -> Sequence[Result]:
        started.set()
        release.wait(5)
        return doubled(inputs)

    job = put(queue, NewJob(1))
    worker = Worker(queue, blocking, FAST, "w")
    with running(worker):
        assert started.wait(5)
        queue.cancel(job.id)
        release.set()
        eventually(lambda: worker.metrics.outcomes.labels("stale")._value.get() == 1)
    cancelled = queue.get(job.id)
    assert (
        cancelled is not None and cancelled.state is JobState.CANCELLED and cancelled.result is None
    )


def test_heartbeat_renews_leases_of_long_jobs(queue: JobQueue) -> None:
    def slow(inputs: list[Any]) -> Sequence[Result]:
        time.sleep(0.6)
        return doubled(inputs)

    job = put(queue, NewJob(1))
    policy = Policy(batch_size=1, lease_s=0.3, poll_s=0.01, heartbeat_s=0.05)
    with running(Worker(queue, slow, policy, "w")):
        eventually(settled(queue, 1))
    done = queue.get(job.id)
    assert done is not None and done.attempts == 1 and done.result == 2


def test_heartbeat_file_drives_the_health_check(tmp_path: Path) -> None:
    path = tmp_path / "hb"
    assert not is_healthy(path, 10)[0]
    beat(path, WorkerState.STARTING, now=100)
    assert not is_healthy(path, 10, now=101)[0]
    beat(path, WorkerState.READY, now=100)
    assert is_healthy(path, 10, now=105)[0]
    assert not is_healthy(path, 10, now=111)[0]


def test_a_non_finite_output_is_stored_as_null() -> None:
    from tests.jobs.models.slow import Slow

    class NaNs(Slow):
        def predict(self, batch: list[float]) -> list[float]:
            return [float("nan") for _ in batch]

    queue = MemoryQueue()
    job = put(queue, NewJob(1.0, max_attempts=1))
    with running(Worker(queue, ModelExecutor(ModelRunner(NaNs(), signature_of(NaNs))), FAST, "w")):
        eventually(settled(queue, 1))
    done = queue.get(job.id)
    assert done is not None and done.state == JobState.DONE and done.result is None
    json.dumps(done.public(), allow_nan=False)  # what GET /jobs sends
