"""Runs the user's model on a batch in a worker thread, isolating inputs that make it raise."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ValidationError

from dockyard.runtime.batching import Outcome
from dockyard.runtime.contract import Model, Signature

log = logging.getLogger("dockyard.model")

# Batches faster than this run on the event loop: a thread hop costs more than the batch itself.
INLINE_BUDGET = 0.001
LABEL_FIELDS = ("label", "class", "class_name")
CONFIDENCE_FIELDS = ("probability", "confidence", "score")


class PredictionError(Exception):
    """The model raised (or broke its contract) for this input; becomes a 500 with a request id."""


class ModelRunner:
    """Owns the model and the one thread that calls it (one replica, one batch at a time)."""

    def __init__(self, model: Model[Any, Any], signature: Signature, inline: bool = True) -> None:
        self.model = model
        self.signature = signature
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockyard-model")
        self.classifier = classifier_fields(signature.output_type)
        self.inline_allowed = inline
        self.batch_seconds = INLINE_BUDGET * 10  # pessimistic until measured: start on the thread

    async def run(self, items: list[Any]) -> list[Outcome]:
        """Predict `items` inline when batches are fast, else in the model thread."""
        started = time.perf_counter()
        if self.inline_allowed and self.batch_seconds < INLINE_BUDGET:
            outcomes = self.run_sync(items)
        else:
            loop = asyncio.get_running_loop()
            outcomes = await loop.run_in_executor(self.executor, self.run_sync, items)
        # An exponentially weighted average, so one slow batch moves work back to the thread fast.
        elapsed = time.perf_counter() - started
        self.batch_seconds = max(elapsed, 0.8 * self.batch_seconds + 0.2 * elapsed)
        return outcomes

    def run_sync(self, items: list[Any]) -> list[Outcome]:
        """Predict a batch; if it raises, find the inputs that make it fail (see `_isolate`)."""
        result = self._attempt(items)
        return result if isinstance(result, list) else self._isolate(items, result)

    def _attempt(self, items: list[Any]) -> list[Outcome] | Exception:
        try:
            return [Outcome(value=v) for v in self.predict_values(items)]
        except Exception as exc:
            return exc

    def _isolate(self, items: list[Any], exc: Exception) -> list[Outcome]:
        """Split a failed batch in halves so only the offending inputs fail.

        When both halves fail for the batch's own reason and that reason is not about an input
        (out of memory, a broken model: not a ValueError, TypeError and the like), every input
        fails with it after 3 calls rather than 2n - 1. Errors about inputs are always isolated:
        two bad inputs with the same message must not fail the good ones beside them.
        """
        if len(items) > 1:
            middle = len(items) // 2
            halves = (items[:middle], items[middle:])
            results = [self._attempt(half) for half in halves]
            if not all(_same_failure(r, exc) for r in results):
                outcomes: list[Outcome] = []
                for half, result in zip(halves, results, strict=True):
                    outcomes += result if isinstance(result, list) else self._isolate(half, result)
                return outcomes
        reason = f"{type(exc).__name__}: {exc}"
        log.error("prediction failed", extra={"error": reason, "inputs": len(items)}, exc_info=exc)
        return [Outcome(error=PredictionError(reason)) for _ in items]

    def predict_values(self, items: list[Any]) -> list[Any]:
        """preprocess -> predict -> postprocess -> validate against the output type."""
        model, sig = self.model, self.signature
        batch = [model.preprocess(x) for x in items] if sig.has_preprocess else items
        raw = model.predict(batch)
        if not isinstance(raw, (list, tuple)) and hasattr(raw, "tolist"):
            raw = raw.tolist()  # numpy arrays are a natural batch result
        if len(raw) != len(items):
            raise PredictionError(f"predict returned {len(raw)} outputs for {len(items)} inputs")
        outputs = [model.postprocess(o) for o in raw] if sig.has_postprocess else raw
        try:
            return [sig.outputs.validate_python(o) for o in outputs]
        except ValidationError as exc:
            raise PredictionError(
                f"predict returned a value that does not match its type hint: {exc}"
            ) from exc

    def classes_of(self, values: list[Any]) -> tuple[list[object], list[float]]:
        """Labels and confidences of classifier outputs, for the prediction distribution."""
        return classes_of(self.classifier, values)

    def health(self) -> bool:
        """The model's own health(); readiness asks it on every probe."""
        return bool(self.model.health())

    def close(self) -> None:
        self.executor.shutdown(wait=True)


# Exceptions that usually describe one input; a batch failing with these is always bisected.
INPUT_ERRORS = (ValueError, TypeError, LookupError, ArithmeticError, AttributeError)


def _same_failure(result: list[Outcome] | Exception, exc: Exception) -> bool:
    """`result` failed for the batch's own reason, and that reason is not about an input."""
    if isinstance(exc, INPUT_ERRORS) or not isinstance(result, Exception):
        return False
    return (type(result), str(result)) == (type(exc), str(exc))


def classifier_fields(output_type: Any) -> tuple[str, str | None] | None:
    """(label field, confidence field) when outputs look like a classifier's, else None."""
    names: set[str] = set()
    if isinstance(output_type, type) and issubclass(output_type, BaseModel):
        names = set(output_type.model_fields)
    elif hasattr(output_type, "__annotations__") and hasattr(output_type, "__total__"):  # TypedDict
        names = set(output_type.__annotations__)
    label = next((f for f in LABEL_FIELDS if f in names), None)
    if label is None:
        return None
    return label, next((f for f in CONFIDENCE_FIELDS if f in names), None)


def classes_of(
    classifier: tuple[str, str | None] | None, values: list[Any]
) -> tuple[list[object], list[float]]:
    """Labels and confidences of outputs with `classifier`'s fields (none when it is None)."""
    if classifier is None:
        return [], []
    label_field, conf_field = classifier
    labels = [_field(v, label_field) for v in values]
    confidences = [float(_field(v, conf_field)) for v in values] if conf_field else []
    return labels, confidences


def _field(value: Any, name: str) -> Any:
    return value[name] if isinstance(value, dict) else getattr(value, name)
