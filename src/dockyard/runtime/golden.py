"""Golden samples: inputs with their expected outputs, compared within a numeric tolerance."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import ModelError


@dataclass(frozen=True)
class GoldenSample:
    """One input and the output the model must give for it."""

    input: Any
    output: Any


def load_golden(path: Path) -> list[GoldenSample]:
    """Read JSON Lines of {"input": ..., "output": ...} (a JSON list of the same is accepted)."""
    text = path.read_text(encoding="utf-8")
    try:
        rows = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    samples = []
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "input" not in row or "output" not in row:
            raise ModelError(f"{path}: sample {i}: expected an object with 'input' and 'output'")
        samples.append(GoldenSample(row["input"], row["output"]))
    if not samples:
        raise ModelError(f"{path}: no golden samples (add at least one line)")
    return samples


def mismatch(
    actual: Any, expected: Any, atol: float, rtol: float, where: str = "output"
) -> str | None:
    """Describe the first difference beyond tolerance, or None when they match."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return None if actual == expected else f"{where}: got {actual!r}, expected {expected!r}"
    if isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return f"{where}: got {actual!r}, expected a number near {expected!r}"
        if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
            return None
        return f"{where}: got {actual!r}, expected {expected!r} (atol={atol}, rtol={rtol})"
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{where}: got {_short(actual)}, expected a list of {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            if problem := mismatch(a, e, atol, rtol, f"{where}[{i}]"):
                return problem
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            found = sorted(actual) if isinstance(actual, dict) else _short(actual)
            return f"{where}: got keys {found}, expected {sorted(expected)}"
        for key, e in expected.items():
            if problem := mismatch(actual[key], e, atol, rtol, f"{where}.{key}"):
                return problem
        return None
    return (
        None
        if actual == expected
        else f"{where}: got {_short(actual)}, expected {_short(expected)}"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_inputs(path: Path) -> list[Any]:
    """Inputs for `dockyard golden`: one JSON array of inputs, or JSON Lines of one input each.

    A file that is a single JSON array is the list of inputs, so one list-typed input is
    written as `[[...]]` (or as JSON Lines of more than one line).
    """
    text = path.read_text(encoding="utf-8")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, list):
        return whole
    try:
        inputs = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}); expected a JSON array of "
            "inputs or JSON Lines with one input per line"
        ) from exc
    if not inputs:
        raise ModelError(f"{path}: no inputs (one JSON value per line, or a JSON array)")
    return inputs


def render_golden(inputs: list[Any], outputs: list[Any]) -> str:
    """JSON Lines of {"input": ..., "output": ...}, the format load_golden reads."""
    return "".join(
        json.dumps({"input": i, "output": o}, ensure_ascii=False) + "\n"
        for i, o in zip(inputs, outputs, strict=True)
    )
