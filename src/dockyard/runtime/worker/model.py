"""Load the user's model for a worker and adapt it to `Execute`: stored JSON in, Results out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dockyard.errors import ModelError
from dockyard.runtime.contract import Signature, signature_of
from dockyard.runtime.loader import (
    artifact_paths,
    instantiate,
    load_model_class,
    secret_paths,
    verify_artifacts,
)
from dockyard.runtime.queue.base import JSON
from dockyard.runtime.runner import ModelRunner
from dockyard.runtime.worker.loop import Result
from dockyard.spec import Spec

HIDDEN = "the model failed on this input; the worker log has the details under this job's id"


class ModelExecutor:
    """Validates stored inputs, runs the model (splitting failing batches), dumps JSON outputs.

    A model's exception text goes to the worker log only, unless `expose_errors`
    (serving.expose_errors, for development): jobs and webhooks carry a generic message.
    """

    def __init__(self, runner: ModelRunner, expose_errors: bool = False) -> None:
        self.runner = runner
        self.signature: Signature = runner.signature
        self.expose_errors = expose_errors

    def __call__(self, inputs: list[JSON]) -> Sequence[Result]:
        results: list[Result | None] = [None] * len(inputs)
        valid: list[tuple[int, Any]] = []
        for i, raw in enumerate(inputs):
            try:
                valid.append((i, self.signature.inputs.validate_python(raw)))
            except (
                ValidationError
            ) as exc:  # the schema changed since submission: retrying won't help
                results[i] = Result(error=f"invalid input: {exc}", permanent=True)
        outcomes = self.runner.run_sync([value for _, value in valid]) if valid else []
        for (i, _), outcome in zip(valid, outcomes, strict=True):
            results[i] = self._result(outcome.value, outcome.error)
        return [r or Result(error="no result") for r in results]

    def _result(self, value: Any, error: BaseException | None) -> Result:
        if error is not None:
            return self._failed(str(error))
        try:
            # through JSON text, as /predict answers: a NaN output becomes null, never a stored
            # NaN that would make every listing of the jobs fail
            return Result(value=json.loads(self.signature.outputs.dump_json(value)))
        except Exception as exc:
            return self._failed(f"output not serialisable: {exc}")

    def _failed(self, detail: str) -> Result:
        return Result(error=detail) if self.expose_errors else Result(error=HIDDEN, detail=detail)


def load_executor(spec: Spec, root: Path, *, in_container: bool = False) -> ModelExecutor:
    """Import, instantiate and set up the model (slow: weights load here).

    `in_container`: artifacts are at their container paths (the entry point read it).
    """
    cls = load_model_class(spec, root)
    paths = artifact_paths(spec, root, in_container)
    problems = verify_artifacts(spec, paths)
    if problems:
        raise ModelError("; ".join(problems))
    model = instantiate(cls, paths, secret_paths(spec))
    try:
        model.setup()
    except Exception as exc:
        raise ModelError(f"{cls.__name__}.setup() failed: {type(exc).__name__}: {exc}") from exc
    return ModelExecutor(ModelRunner(model, signature_of(cls)), spec.serving.expose_errors)
