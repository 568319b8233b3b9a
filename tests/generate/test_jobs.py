"""A generative model as a job: the worker stores the whole generated output."""

from __future__ import annotations

import threading
import time

from dockyard.runtime.contract import GenerationParams, signature_of
from dockyard.runtime.generate.fake import FakeGenerator, FakeStreamer
from dockyard.runtime.queue import JobState, MemoryQueue, NewJob
from dockyard.runtime.runner import ModelRunner
from dockyard.runtime.worker import Policy, Worker
from dockyard.runtime.worker.model import ModelExecutor


class Capped(FakeGenerator):
    default_params = GenerationParams(max_tokens=3)


def run_jobs(model_cls: type[FakeGenerator] | type[FakeStreamer], prompts: list[str]) -> list:
    model = model_cls()
    model.setup()
    queue = MemoryQueue()
    jobs = queue.put_many([NewJob(p) for p in prompts])
    policy = Policy(batch_size=4, lease_s=5, backoff_s=0, poll_s=0.01, heartbeat_s=0.05)
    worker = Worker(queue, ModelExecutor(ModelRunner(model, signature_of(model_cls))), policy, "w")
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while sum(queue.stats().count(s) for s in JobState if s.final) < len(jobs):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        worker.stop()
        thread.join(10)
    return [queue.get(j.id).result for j in jobs]  # type: ignore[union-attr]


def test_a_streamed_job_stores_the_whole_output() -> None:
    assert run_jobs(FakeGenerator, ["one two", "three"]) == ["one two ", "three "]
    assert run_jobs(FakeStreamer, ["four five"]) == ["four five "]


def test_a_job_stops_at_the_models_default_max_tokens() -> None:
    assert run_jobs(Capped, ["forever"]) == ["x x x "]
