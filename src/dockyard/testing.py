"""Helpers for users' own tests: run golden samples through the local code path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.runtime.golden import load_golden, mismatch
from dockyard.spec import load_spec

__all__ = ["check_golden", "predict"]


def predict(root: Path | str, inputs: list[Any]) -> list[Any]:
    """Predict `inputs` with the project's model in this process (JSON-ready outputs)."""
    from dockyard.cli.serve import predict_local

    return predict_local(Path(root).resolve(), inputs)


def check_golden(root: Path | str) -> list[str]:
    """Every golden sample whose local prediction differs beyond the spec's tolerance."""
    root = Path(root).resolve()
    spec = load_spec(root)
    if not spec.health.golden:
        return ["the spec has no health.golden file"]
    samples = load_golden(root / spec.health.golden)
    outputs = predict(root, [s.input for s in samples])
    tol = spec.health.tolerance
    found = (
        mismatch(out, s.output, tol.atol, tol.rtol, f"sample {i}")
        for i, (s, out) in enumerate(zip(samples, outputs, strict=True), 1)
    )
    return [p for p in found if p]
