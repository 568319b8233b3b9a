"""docs/spec-reference.md is generated from the spec models; it must match them exactly, and
every key must say what it is for (issue 10, item 8)."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from dockyard.spec import Spec
from dockyard.spec.reference import render_reference
from dockyard.spec.serving import Serving

PAGE = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"
REGENERATE = "python -m dockyard.spec.reference > docs/spec-reference.md"


def test_reference_page_matches_the_models() -> None:
    assert PAGE.is_file(), f"docs/spec-reference.md is missing; run `{REGENERATE}`"
    expected, actual = render_reference(), PAGE.read_text(encoding="utf-8")
    diff = "\n".join(difflib.unified_diff(actual.splitlines(), expected.splitlines(), lineterm=""))
    assert actual == expected, f"the spec changed; run `{REGENERATE}`:\n{diff}"


def _leaves(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, str | None]]:
    for name, field in model.model_fields.items():
        nested = [
            t
            for t in (field.annotation, *typing.get_args(field.annotation))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if nested:
            yield from _leaves(nested[0], f"{path}{name}.")
        else:
            yield f"{path}{name}", field.description


def test_every_key_is_described() -> None:
    undocumented = [key for key, text in _leaves(Spec) if not text]
    assert undocumented == []


def test_every_key_is_on_the_page() -> None:
    page = render_reference()
    for key, _ in _leaves(Spec):
        assert f"| `{key.rsplit('.', 1)[-1]}` |" in page, key


def test_body_limit_formula() -> None:
    serving = Serving(max_batch_size=64)
    assert serving.body_limit(24 * 1024) == 2 * 64 * 24 * 1024  # list[float]: 3 MiB
    assert serving.body_limit(24) == 1024**2, "never below 1 MiB"
    assert serving.body_limit(10**9) == 64 * 1024**2, "never above 64 MiB by default"
    assert Serving(max_body_bytes="5m").body_limit(24) == 5 * 1024**2, "an explicit value wins"
