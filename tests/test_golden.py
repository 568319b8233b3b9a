"""Goldens never write themselves: a missing one fails; only DOCKYARD_UPDATE_GOLDEN=1 rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.golden import assert_golden


def test_a_missing_golden_fails_says_how_to_create_it_and_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKYARD_UPDATE_GOLDEN", raising=False)
    golden = tmp_path / "out.txt"
    with pytest.raises(AssertionError, match=r"missing.*DOCKYARD_UPDATE_GOLDEN=1 pytest"):
        assert_golden(golden, "text")
    assert not golden.exists()


def test_a_changed_output_fails_and_leaves_the_golden_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_UPDATE_GOLDEN", "0")  # "0" means off, not "any value"
    golden = tmp_path / "out.txt"
    golden.write_text("old")
    with pytest.raises(AssertionError, match=r"out\.txt changed"):
        assert_golden(golden, "new")
    assert golden.read_text() == "old"
    assert_golden(golden, "old")


def test_only_the_value_1_rewrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = tmp_path / "sub" / "out.txt"
    monkeypatch.setenv("DOCKYARD_UPDATE_GOLDEN", "1")
    assert_golden(golden, "new")
    assert golden.read_text() == "new"
    monkeypatch.setenv("DOCKYARD_UPDATE_GOLDEN", "yes")
    with pytest.raises(ValueError, match="set it to 1"):
        assert_golden(golden, "other")
    assert golden.read_text() == "new"
