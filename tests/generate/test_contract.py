"""The generative contract: signatures of both forms, whole outputs, clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from dockyard.errors import ModelError
from dockyard.runtime.contract import (
    GenerationParams,
    GenerativeModel,
    is_stepwise,
    join_chunks,
    signature_of,
)
from dockyard.runtime.generate.fake import FakeGenerator, FakeStreamer


class Frame(BaseModel):
    samples: list[float]


class Frames(GenerativeModel[int, list[Frame], Frame]):
    def generate(
        self, batch: list[int], params: list[GenerationParams]
    ) -> Iterator[list[Frame | None]]:
        for step in range(max(batch) + 1):
            yield [Frame(samples=[float(step)]) if step < n else None for n in batch]


class NoHints(GenerativeModel[str, str, str]):
    def start(self, item, params):  # type: ignore[no-untyped-def]
        return item

    def step(self, states):  # type: ignore[no-untyped-def]
        return [None for _ in states]


class Neither(GenerativeModel[str, str, str]):
    pass


def test_a_step_wise_model_has_text_chunks_and_a_text_output() -> None:
    sig = signature_of(FakeGenerator)
    assert (sig.input_type, sig.chunk_type, sig.output_type) == (str, str, str)
    assert sig.generative and sig.stepwise and is_stepwise(FakeGenerator)


def test_a_streaming_model_of_objects_outputs_the_list_of_its_chunks() -> None:
    sig = signature_of(Frames)
    assert (sig.input_type, sig.chunk_type) == (int, Frame)
    assert not sig.stepwise and not signature_of(FakeStreamer).stepwise
    model = Frames()
    assert model.predict([2, 0]) == [[Frame(samples=[0.0]), Frame(samples=[1.0])], []]
    assert sig.outputs.validate_python(model.predict([1])[0]) == [Frame(samples=[0.0])]


def test_predict_runs_whole_generations_with_the_default_params() -> None:
    model = FakeGenerator()
    model.setup()
    assert model.predict(["a b", "c"]) == ["a b ", "c "]
    assert model.record.released == ["a b", "c"]


def test_plain_models_are_not_generative() -> None:
    from dockyard import Model

    class Plain(Model[str, str]):
        def predict(self, batch: list[str]) -> list[str]:
            return batch

    sig = signature_of(Plain)
    assert not sig.generative and sig.chunk_type is None


@pytest.mark.parametrize(
    ("cls", "message"),
    [(NoHints, "needs type hints"), (Neither, "implement step-wise start/step or generate")],
)
def test_a_model_without_a_usable_form_is_refused_clearly(cls: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        signature_of(cls)


def test_join_chunks() -> None:
    assert join_chunks(["a", "b"], text=True) == "ab"
    assert join_chunks([], text=True) == ""
    assert join_chunks([1, 2], text=False) == [1, 2]
    assert join_chunks([], text=False) == []
