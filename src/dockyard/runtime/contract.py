"""The user's model contract: a small base class that knows nothing of HTTP, queues or processes."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from dockyard.errors import ModelError

In = TypeVar("In")
Out = TypeVar("Out")


class Model(Generic[In, Out]):
    """Subclass this, implement `setup` and `predict`; Dockyard does the serving.

    `predict` is batch-first: it receives a list of inputs and returns one output per input, in
    order. The type hints of `predict` become the request and response JSON schema::

        class Digits(Model[list[float], Prediction]):
            def setup(self) -> None:
                self.clf = joblib.load(self.artifacts["weights"])

            def predict(self, batch: list[list[float]]) -> list[Prediction]:
                ...

    `self.artifacts` maps each artifact name in the spec to its file on this machine or in the
    container; it is set before `setup` runs. Optional hooks: `preprocess` / `postprocess` (per
    item, run in the model's thread) and `health` (an extra readiness check).
    """

    artifacts: Mapping[str, Path] = {}

    def setup(self) -> None:
        """Load weights; called once before the first prediction."""

    def predict(self, batch: list[In]) -> list[Out]:
        """Return one output per input of `batch`, in the same order."""
        raise NotImplementedError

    def preprocess(self, item: In) -> Any:
        """Turn one validated input into what `predict` wants (default: unchanged)."""
        return item

    def postprocess(self, output: Any) -> Out:
        """Turn one raw output of `predict` into the response item (default: unchanged)."""
        return typing.cast(Out, output)

    def health(self) -> bool:
        """Return False to report the model unready (checked by the readiness probe)."""
        return True


@dataclass(frozen=True)
class Signature:
    """The typed shape of a model: adapters validate inputs and serialise outputs."""

    input_type: Any
    output_type: Any
    inputs: TypeAdapter[Any]
    outputs: TypeAdapter[Any]
    has_preprocess: bool
    has_postprocess: bool

    def input_schema(self) -> dict[str, Any]:
        """JSON schema of one input item."""
        return self.inputs.json_schema()

    def output_schema(self) -> dict[str, Any]:
        """JSON schema of one output item."""
        return self.outputs.json_schema(mode="serialization")


def signature_of(model_cls: type[Model[Any, Any]]) -> Signature:
    """Read `predict(self, batch: list[In]) -> list[Out]` into a Signature."""
    try:
        hints = typing.get_type_hints(
            model_cls.predict, include_extras=True
        )  # keep Field constraints
    except Exception as exc:  # any NameError/TypeError in user annotations
        raise ModelError(
            f"{model_cls.__name__}.predict has unresolvable type hints: {exc}"
        ) from exc
    params = [p for p in hints if p != "return"]
    if not params or "return" not in hints:
        raise ModelError(
            f"{model_cls.__name__}.predict needs type hints: "
            "predict(self, batch: list[In]) -> list[Out]"
        )
    input_type = _item_type(hints[params[0]], f"{model_cls.__name__}.predict's batch argument")
    output_type = _item_type(hints["return"], f"{model_cls.__name__}.predict's return type")
    return Signature(
        input_type=input_type,
        output_type=output_type,
        inputs=TypeAdapter(input_type),
        outputs=TypeAdapter(output_type),
        has_preprocess=model_cls.preprocess is not Model.preprocess,
        has_postprocess=model_cls.postprocess is not Model.postprocess,
    )


def _item_type(hint: Any, what: str) -> Any:
    hint = strip_annotated(hint)
    if typing.get_origin(hint) not in (list, typing.get_origin(list[int])) or not typing.get_args(
        hint
    ):
        raise ModelError(f"{what} must be annotated as list[Item], got {hint!r}")
    return typing.get_args(hint)[0]


def strip_annotated(hint: Any) -> Any:
    """`Annotated[T, ...]` -> T; other hints unchanged."""
    return typing.get_args(hint)[0] if typing.get_origin(hint) is typing.Annotated else hint
