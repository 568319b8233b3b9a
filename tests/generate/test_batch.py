"""The model side alone: every decision between two steps is made in `Batch.advance`.

No event loop and no thread: messages in, one report out, the fake counting what it saw. These
are the guarantees that must hold wherever the model side runs.
"""

from __future__ import annotations

from dockyard.runtime.contract import GenerationParams, signature_of
from dockyard.runtime.generate.batch import Batch, Join, Leave
from dockyard.runtime.generate.fake import FakeGenerator, FakeSequence
from dockyard.runtime.generate.stepper import stepper_for


def batch(max_active: int = 8) -> tuple[Batch, FakeGenerator]:
    model = FakeGenerator()
    model.setup()
    return Batch(stepper_for(model, signature_of(FakeGenerator)), max_active), model


def test_a_sequence_that_reaches_max_tokens_is_released_in_that_step() -> None:
    b, model = batch()
    report = b.advance([Join(1, "forever", GenerationParams(max_tokens=2))])
    assert [(e.chunks, e.end) for e in report.events] == [(["x "], None)]
    report = b.advance([])
    assert [(e.chunks, e.produced, e.end) for e in report.events] == [(["x "], 2, "length")]
    assert model.record.released == ["forever"] and report.active == 0
    assert b.advance([]).stepped == 0 and model.record.steps["forever"] == 2


def test_a_leave_before_the_join_was_admitted_never_starts_the_sequence() -> None:
    b, model = batch(max_active=1)
    b.advance([Join(1, "forever", GenerationParams())])
    report = b.advance([Join(2, "never started", GenerationParams()), Leave(2)])
    assert report.joined == [] and "never started" not in model.record.params
    report = b.advance([Leave(1)])
    assert model.record.released == ["forever"] and not b.active and not b.waiting
    assert (report.left, report.active, report.stepped) == (1, 0, 0)


def test_joiners_wait_for_room_and_join_in_arrival_order() -> None:
    b, _ = batch(max_active=2)
    report = b.advance([Join(k, "forever", GenerationParams()) for k in (1, 2, 3, 4)])
    assert report.joined == [1, 2] and list(b.waiting) == [3, 4]
    report = b.advance([Leave(1)])
    assert report.joined == [3] and report.stepped == 2


def test_a_stop_string_split_over_two_steps_ends_the_sequence_and_holds_it_back() -> None:
    b, _ = batch()
    params = GenerationParams(max_tokens=10, stop=("b c",))
    first = b.advance([Join(1, "a b c d", params)])
    second = b.advance([])
    third = b.advance([])
    assert [e.chunks for e in (*first.events, *second.events)] == [["a "], []]
    assert (third.events[0].chunks, third.events[0].end) == ([], "stop")
    assert third.active == 0


def test_a_failing_start_fails_only_its_own_sequence() -> None:
    b, _ = batch()
    report = b.advance(
        [Join(1, "raise", GenerationParams()), Join(2, "one two", GenerationParams())]
    )
    ends = {e.key: (e.end, e.error) for e in report.events}
    assert ends[1] == ("error", "ValueError: the fake refuses this prompt")
    assert ends[2] == (None, "") and report.joined == [2]


def test_a_step_that_breaks_the_contract_fails_its_sequences_and_says_how() -> None:
    class Short(FakeGenerator):
        def step(self, states: list[FakeSequence]) -> list[str | None]:
            return super().step(states)[:1]  # one chunk, whatever the batch

    model = Short()
    model.setup()
    b = Batch(stepper_for(model, signature_of(Short)), 8)
    report = b.advance([Join(1, "a b", GenerationParams()), Join(2, "c d", GenerationParams())])
    assert {(e.end, e.error) for e in report.events} == {
        ("error", "step returned 1 chunks for 2 sequences")
    }
    assert report.active == 0 and sorted(model.record.released) == ["a b", "c d"]
