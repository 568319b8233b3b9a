"""Run with `pytest`: the model gives its golden outputs through Dockyard's local path."""

from pathlib import Path

from dockyard.testing import check_golden


def test_golden_samples_match() -> None:
    assert check_golden(Path(__file__).parent) == []
