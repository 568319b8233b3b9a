"""Fixtures for the stack tests: example specs, variants of them, and golden-file comparison."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from dockyard.spec import Spec
from tests.support import golden as support

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
EXAMPLES = HERE.parents[1] / "examples" / "stack"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/stack/golden/NAME (see tests.support.golden)."""
    support.assert_golden(GOLDEN / name, text)


def example_raw(name: str) -> dict[str, Any]:
    """The example stack's dockyard.toml as data (`sqlite` or `redis`)."""
    return tomllib.loads((EXAMPLES / name / "dockyard.toml").read_text(encoding="utf-8"))


def variant(name: str, **tables: dict[str, Any]) -> Spec:
    """The example's spec with some tables updated (validated, without file checks)."""
    raw = example_raw(name)
    for table, values in tables.items():
        raw[table] = {**raw.get(table, {}), **values}
    return Spec.model_validate(raw)
