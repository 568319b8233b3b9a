"""The engine in-process: continuous batching, cancellation, backpressure, failures.

The fakes count the steps each prompt got and the prompts of every step, so these tests prove
who was in the batch at each step rather than timing anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from dockyard.runtime.contract import GenerationParams, GenerativeModel, signature_of
from dockyard.runtime.generate.engine import Engine
from dockyard.runtime.generate.fake import FakeGenerator, FakeStreamer
from dockyard.runtime.generate.metrics import GenerationMetrics
from dockyard.runtime.generate.sequence import GenerationFailed, Phase, Sequence, StopFilter
from dockyard.runtime.generate.stepper import stepper_for

P = GenerationParams()


class Harness:
    """An engine running a fake on its own model thread."""

    def __init__(self, model: GenerativeModel[Any, Any, Any], engine: Engine) -> None:
        self.model, self.engine = model, engine
        self.record = model.record  # type: ignore[attr-defined]
        self.executor = ThreadPoolExecutor(1)
        self.task = asyncio.create_task(
            engine.run(stepper_for(model, signature_of(type(model))), self.executor)
        )

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.001)

    async def close(self) -> None:
        self.engine.close()
        self.engine.cancel_all("shutdown")
        await asyncio.wait_for(self.task, 5)
        self.executor.shutdown()


async def harness(
    cls: type[GenerativeModel[Any, Any, Any]] = FakeGenerator,
    delay: float = 0.005,
    **engine: Any,
) -> Harness:
    model = type("Fake", (cls,), {"step_delay": delay})()
    model.setup()
    metrics = GenerationMetrics(CollectorRegistry())
    options = {"max_active": 8, "queue_size": 100, "timeout": 30.0, "expose_errors": True}
    options.update(engine)
    return Harness(model, Engine(metrics=metrics, **options))


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    running = await harness()
    yield running
    await running.close()


async def text(seq: Sequence) -> str:
    return "".join([c async for batch in seq.batches() for c in batch])


async def test_a_late_sequence_joins_the_running_batch_at_the_next_step(h: Harness) -> None:
    early = h.engine.submit("forever", P)
    await h.until(lambda: h.record.steps["forever"] >= 5)
    late = h.engine.submit("one two three", P)
    assert await text(late) == "one two three "
    # The late one ran beside the early one, which never stopped: no waiting for the batch.
    shared = [b for b in h.record.batches if "one two three" in b]
    assert shared and all("forever" in b for b in shared)
    assert h.record.steps["one two three"] == 4  # three words, then the step that finished it
    assert early.phase is Phase.ACTIVE
    h.engine.cancel(early, "disconnect")


async def test_a_finished_sequence_leaves_at_once_and_gets_no_more_steps(h: Harness) -> None:
    long = h.engine.submit("forever", P)
    short = h.engine.submit("a", P)
    assert await text(short) == "a "
    steps = h.record.steps["a"]
    await h.until(lambda: h.record.steps["forever"] >= steps + 5)
    assert h.record.steps["a"] == steps == 2
    assert h.record.released.count("a") == 1
    h.engine.cancel(long, "disconnect")


async def test_a_cancelled_sequence_gets_no_step_after_the_one_in_flight(h: Harness) -> None:
    other = h.engine.submit("forever", P)
    doomed = h.engine.submit("forever please", P)
    await h.until(lambda: h.record.steps["forever please"] >= 3)
    h.engine.cancel(doomed, "disconnect")
    at_cancel = h.record.steps["forever please"]
    await h.until(lambda: h.record.steps["forever"] >= at_cancel + 10)
    assert h.record.steps["forever please"] <= at_cancel + 1  # at most the step already running
    await h.until(lambda: "forever please" in h.record.released)
    assert doomed.phase is Phase.CANCELLED and doomed.finish_reason == "cancelled"
    assert h.engine.metrics is not None
    assert h.engine.metrics.cancelled.labels("disconnect")._value.get() == 1
    h.engine.cancel(other, "disconnect")


async def test_at_most_max_active_sequences_step_together() -> None:
    h = await harness(max_active=2)
    seqs = [h.engine.submit(f"w{i} x y", P) for i in range(5)]
    outs = await asyncio.gather(*(text(s) for s in seqs))
    assert outs == [f"w{i} x y " for i in range(5)]
    assert max(len(b) for b in h.record.batches) == 2
    await h.close()


async def test_max_tokens_ends_with_length_and_stop_strings_cut_the_text(h: Harness) -> None:
    capped = h.engine.submit("a b c d e", GenerationParams(max_tokens=2))
    assert await text(capped) == "a b "
    assert capped.finish_reason == "length" and capped.produced == 2
    stopped = h.engine.submit("say hello world now", GenerationParams(stop=("lo w",)))
    assert await text(stopped) == "say hel"
    assert stopped.finish_reason == "stop"
    assert h.record.params["say hello world now"].stop == ("lo w",)


def test_the_stop_filter_holds_back_only_a_possible_start_of_a_stop() -> None:
    f = StopFilter(("END",))
    assert f.feed("abcE") == ("abc", False)
    assert f.feed("N") == ("", False)
    assert f.feed("x") == ("ENx", False)
    assert f.feed("yEND tail") == ("y", True)


async def test_a_slow_reader_is_dropped_with_an_error_and_its_buffer_freed() -> None:
    h = await harness(delay=0.0, buffer=4)
    seq = h.engine.submit("forever", P)  # nobody reads it
    await h.until(lambda: seq.ended)
    assert seq.phase is Phase.FAILED and len(seq.buffer) == 0
    with pytest.raises(GenerationFailed) as failed:
        await text(seq)
    assert failed.value.kind == "slow_reader"
    await h.close()


async def test_a_sequence_past_its_deadline_is_cancelled_with_a_timeout() -> None:
    h = await harness(timeout=0.05)
    seq = h.engine.submit("forever", P)
    with pytest.raises(GenerationFailed) as failed:
        await text(seq)
    assert failed.value.kind == "timeout"
    steps = h.record.steps["forever"]
    await asyncio.sleep(0.05)
    assert h.record.steps["forever"] <= steps + 1
    await h.close()


async def test_a_prompt_that_fails_to_start_fails_alone(h: Harness) -> None:
    good = h.engine.submit("fine words", P)
    bad = h.engine.submit("raise", P)
    assert await text(good) == "fine words "
    with pytest.raises(GenerationFailed, match="refuses"):
        await text(bad)


async def test_a_step_that_raises_fails_that_steps_sequences_and_the_engine_goes_on(
    h: Harness,
) -> None:
    bad = h.engine.submit("explode", P)
    with pytest.raises(GenerationFailed, match="step failed"):
        await text(bad)
    assert await text(h.engine.submit("after", P)) == "after "


async def test_the_waiting_queue_is_bounded() -> None:
    from dockyard.runtime.batching import QueueFull

    h = await harness(max_active=1, queue_size=1)
    h.engine.submit("forever", P)
    await h.until(lambda: h.record.steps["forever"] >= 1)
    h.engine.submit("waits", P)
    with pytest.raises(QueueFull):
        h.engine.submit("refused", P)
    await h.close()


async def test_the_streaming_form_runs_in_cohorts_and_closes_when_all_leave() -> None:
    h = await harness(FakeStreamer)
    first = h.engine.submit("forever", P)
    await h.until(lambda: h.record.steps["forever"] >= 3)
    second = h.engine.submit("b c", P)
    assert await text(second) == "b c "
    # A new cohort started at once, beside the running one (no waiting for it to end).
    assert any(b == ["b c"] for b in h.record.batches)
    h.engine.cancel(first, "disconnect")
    at_cancel = h.record.steps["forever"]
    await asyncio.sleep(0.05)
    assert h.record.steps["forever"] <= at_cancel + 1  # its generator was closed
    await h.close()


async def test_metrics_count_steps_chunks_and_first_chunk_times(h: Harness) -> None:
    await text(h.engine.submit("a b c", P))
    m = h.engine.metrics
    assert m is not None
    assert m.chunks._value.get() == 3
    assert m.finished.labels("stop")._value.get() == 1
    samples = {s.name: s.value for metric in m.ttft.collect() for s in metric.samples}
    assert samples["dockyard_generation_time_to_first_chunk_seconds_count"] == 1


async def test_shutdown_ends_running_streams_with_an_error(h: Harness) -> None:
    seq = h.engine.submit("forever", P)
    await h.until(lambda: h.record.steps["forever"] >= 2)
    h.engine.cancel_all("shutdown")
    with pytest.raises(GenerationFailed) as failed:
        await text(seq)
    assert failed.value.kind == "shutdown"
    assert h.engine.metrics is not None
    assert h.engine.metrics.cancelled.labels("shutdown")._value.get() == 1


async def test_the_models_error_text_stays_in_the_log_unless_exposed() -> None:
    h = await harness(expose_errors=False)
    with pytest.raises(GenerationFailed) as failed:
        await text(h.engine.submit("raise", P))
    assert "refuses" not in failed.value.message
    assert "server log" in failed.value.message
    await h.close()
