"""Fixtures for the stack tests: example specs, variants of them, and golden-file comparison."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from dockyard.spec import Spec

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
EXAMPLES = HERE.parents[1] / "examples" / "stack"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/stack/golden/NAME; DOCKYARD_UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    if os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; set DOCKYARD_UPDATE_GOLDEN=1"


def example_raw(name: str) -> dict[str, Any]:
    """The example stack's dockyard.toml as data (`sqlite` or `redis`)."""
    return tomllib.loads((EXAMPLES / name / "dockyard.toml").read_text(encoding="utf-8"))


def variant(name: str, **tables: dict[str, Any]) -> Spec:
    """The example's spec with some tables updated (validated, without file checks)."""
    raw = example_raw(name)
    for table, values in tables.items():
        raw[table] = {**raw.get(table, {}), **values}
    return Spec.model_validate(raw)
