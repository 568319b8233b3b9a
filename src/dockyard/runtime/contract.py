"""The user's model contract: a small base class that knows nothing of HTTP, queues or processes."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from dockyard.errors import ModelError

In = TypeVar("In")
Out = TypeVar("Out")
Chunk = TypeVar("Chunk")


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
    container; it is set before `setup` runs. `self.secrets` maps each declared secret to its
    file (`/run/secrets/NAME` in a container; a private copy when `dockyard test` or `predict`
    runs the model on the host). Optional hooks: `preprocess` / `postprocess` (per
    item, run in the model's thread) and `health` (an extra readiness check).
    """

    artifacts: Mapping[str, Path] = {}
    secrets: Mapping[str, Path] = {}

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
    # Generative models only: the type of one streamed chunk (the whole output is `output_type`).
    chunk_type: Any = None
    stepwise: bool = False

    @property
    def generative(self) -> bool:
        return self.chunk_type is not None

    def input_schema(self) -> dict[str, Any]:
        """JSON schema of one input item."""
        return self.inputs.json_schema()

    def output_schema(self) -> dict[str, Any]:
        """JSON schema of one output item."""
        return self.outputs.json_schema(mode="serialization")


def signature_of(model_cls: type[Model[Any, Any]]) -> Signature:
    """Read `predict(self, batch: list[In]) -> list[Out]` into a Signature."""
    if issubclass(model_cls, GenerativeModel):
        return _generative_signature(model_cls)
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


# ---- generative models ------------------------------------------------------------------------
@dataclass(frozen=True)
class GenerationParams:
    """What the client asked of one generation; the runtime enforces max_tokens and stop.

    `max_tokens` counts chunks (one chunk per step); `stop` strings end a text generation before
    they appear; `temperature` 0 means greedy decoding; `seed` makes sampling repeatable.
    """

    max_tokens: int = 256
    temperature: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


class GenerativeModel(Model[In, Out], Generic[In, Out, Chunk]):
    """Subclass this for a model that streams its output chunk by chunk (tokens, audio frames).

    Implement ONE of two forms. The step-wise form lets the runtime batch continuously: a new
    request joins the running batch at the next step, a finished or cancelled one leaves it at
    once, up to `serving.max_batch_size` sequences at a time::

        class TinyLM(GenerativeModel[str, str, str]):
            def start(self, item: str, params: GenerationParams) -> Seq:
                return Seq(tokens=self.encode(item), params=params)   # prefill; any object

            def step(self, states: list[Seq]) -> list[str | None]:
                ...  # one forward pass for all states; mutate them; None = this one finished

    A chunk of "" means "nothing this step" (an I/O-bound model, such as a gateway, waiting for
    its upstream); an Exception instance as a chunk fails that one sequence. `release(state)` is
    called once for every sequence that leaves the batch, finished or cancelled, so a model can
    free memory or close an upstream connection.

    The streaming form is simpler but batches statically (a batch runs until all its inputs end;
    a cancelled input's chunks are computed and thrown away)::

        def generate(self, batch: list[str], params: list[GenerationParams]
                     ) -> Iterator[list[str | None]]:
            ...  # yield one chunk (or None once finished) per input, per step

    `Out` is the whole output: `str` when chunks are `str` (they are concatenated), else
    `list[Chunk]`. `predict` (used by /predict, jobs and the golden canary) runs whole generations
    with `default_params`, so plain clients and `dockyard test` work unchanged.
    """

    default_params = GenerationParams()

    def start(self, item: In, params: GenerationParams) -> Any:
        """Begin one sequence (tokenise, prefill) and return its state for `step`."""
        raise NotImplementedError

    def step(self, states: list[Any]) -> list[Chunk | None]:
        """Advance every state by one chunk; None for a state that has finished."""
        raise NotImplementedError

    def release(self, state: Any) -> None:
        """Free what one sequence holds once it left the batch (finished, cancelled, failed)."""

    def prompt_tokens(self, item: In) -> int:
        """How many tokens an input counts as in usage reports (default: whitespace words)."""
        return len(str(item).split())

    def chat_prompt(self, messages: list[dict[str, str]]) -> In:
        """Turn OpenAI chat messages into one input (default: `role: content` lines)."""
        lines = [f"{m['role']}: {m['content']}" for m in messages]
        return typing.cast(In, "\n".join([*lines, "assistant:"]))

    def generate(
        self, batch: list[In], params: list[GenerationParams]
    ) -> Iterator[list[Chunk | None]]:
        """Yield, per step, one chunk (None once finished) per input of `batch`."""
        if not is_stepwise(type(self)):
            raise NotImplementedError("implement step-wise start/step or generate")
        states = [self.start(item, p) for item, p in zip(batch, params, strict=True)]
        live = list(range(len(batch)))
        try:
            while live:
                chunks = self.step([states[i] for i in live])
                row: list[Chunk | None] = [None] * len(batch)
                for i, chunk in zip(live, chunks, strict=True):
                    row[i] = chunk
                live = [i for i, chunk in zip(live, chunks, strict=True) if chunk is not None]
                yield row
        finally:
            for state in states:
                self.release(state)

    def predict(self, batch: list[In]) -> list[Out]:
        """Run whole generations (default parameters) and join each one's chunks."""
        limit = self.default_params.max_tokens
        outputs: list[list[Chunk]] = [[] for _ in batch]
        done = [False] * len(batch)
        steps = self.generate(batch, [self.default_params] * len(batch))
        for row in steps:
            for i, chunk in enumerate(row):
                if chunk is None or done[i]:
                    done[i] = True
                    continue
                outputs[i].append(chunk)
                done[i] = len(outputs[i]) >= limit
            if all(done):
                break
        close = getattr(steps, "close", None)
        if close is not None:
            close()  # let a generator release what it holds
        text = signature_of(type(self)).chunk_type is str  # cheap beside whole generations
        return [join_chunks(o, text) for o in outputs]


def is_stepwise(cls: type[Any]) -> bool:
    """True when a generative model implements the step-wise (continuous batching) form."""
    return cls.step is not GenerativeModel.step


def join_chunks(chunks: list[Any], text: bool) -> Any:
    """The whole output of a generation: text chunks concatenated, others as a list."""
    return "".join(chunks) if text else list(chunks)


def _generative_signature(model_cls: type[GenerativeModel[Any, Any, Any]]) -> Signature:
    name = model_cls.__name__
    stepwise = is_stepwise(model_cls)
    if not stepwise and model_cls.generate is GenerativeModel.generate:
        raise ModelError(f"{name} must implement step-wise start/step or generate")
    try:
        if stepwise:
            input_hint = typing.get_type_hints(model_cls.start, include_extras=True)["item"]
            chunk_hint = typing.get_type_hints(model_cls.step, include_extras=True)["return"]
        else:
            hints = typing.get_type_hints(model_cls.generate, include_extras=True)
            input_hint = _item_type(hints["batch"], f"{name}.generate's batch argument")
            chunk_hint = typing.get_args(strip_annotated(hints["return"]))[0]
    except (KeyError, IndexError) as exc:
        form = "start(self, item: In, ...) and step(...) -> list[Chunk | None]"
        raise ModelError(f"{name} needs type hints: {form} (missing {exc})") from exc
    except Exception as exc:
        raise ModelError(f"{name} has unresolvable type hints: {exc}") from exc
    chunk_type = _optional_inner(_item_type(chunk_hint, f"{name}'s chunks"))
    output_type = str if chunk_type is str else list[chunk_type]  # type: ignore[valid-type]
    return Signature(
        input_type=input_hint,
        output_type=output_type,
        inputs=TypeAdapter(input_hint),
        outputs=TypeAdapter(output_type),
        has_preprocess=model_cls.preprocess is not Model.preprocess,
        has_postprocess=model_cls.postprocess is not Model.postprocess,
        chunk_type=chunk_type,
        stepwise=stepwise,
    )


def _optional_inner(hint: Any) -> Any:
    """`X | None` (or `X | Exception | None`) -> X: None is "finished", an exception a failure."""
    args = typing.get_args(hint)
    kept = [a for a in args if a is not type(None) and not _is_exception(a)]
    return kept[0] if args and len(kept) == 1 else hint


def _is_exception(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseException)
