"""Two projects whose modules share a name load their own classes in one process."""

from __future__ import annotations

from pathlib import Path

from dockyard.runtime.loader import load_model_class
from dockyard.spec import load_spec

REPO = Path(__file__).parents[2]


def test_two_projects_named_model_in_one_process() -> None:
    linear = REPO / "tests" / "image" / "fixtures" / "linear"
    digits = REPO / "examples" / "digits"
    assert load_model_class(load_spec(linear), linear).__name__ == "Linear"
    assert load_model_class(load_spec(digits), digits).__name__ == "DigitsModel"
    assert load_model_class(load_spec(linear), linear).__name__ == "Linear"
