"""scripts/check-collection.py, the guard against tests pytest silently skips, can fail."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO


def guard(root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as a module, pointed at the fake repository `root`."""
    spec = importlib.util.spec_from_file_location(
        "check_collection", REPO / "scripts" / "check-collection.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "REPO", root)
    monkeypatch.setattr(module, "TESTS", root / "tests")
    monkeypatch.setattr(module, "FLOOR_FILE", root / "tests" / "EXPECTED_COUNT")
    return module


def fake_repo(tmp_path: Path) -> Path:
    for folder in ("tests/api", "tests/build", "tests/api/fixtures/app"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "test_x.py").write_text("def test_x(): pass\n")
    (tmp_path / "tests" / "EXPECTED_COUNT").write_text("2\n")
    return tmp_path


def test_a_folder_that_collects_nothing_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check = guard(fake_repo(tmp_path), monkeypatch)
    # pytest skips folders named build: only tests/api collected; fixture data does not count.
    assert check.silent_folders(["tests/api/test_x.py::test_x"]) == ["tests/build"]
    both = ["tests/api/test_x.py::test_x", "tests/build/test_x.py::test_x"]
    assert check.silent_folders(both) == []


def test_fewer_tests_than_the_floor_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    check = guard(fake_repo(tmp_path), monkeypatch)
    both = ["tests/api/test_x.py::test_x", "tests/build/test_x.py::test_x"]
    monkeypatch.setattr(check, "collected", lambda: both)
    assert check.main() == 0
    monkeypatch.setattr(check, "collected", lambda: both[:1])
    assert check.main() == 1
    err = capsys.readouterr().err
    assert "1 tests collected, fewer than the 2" in err and "tests/build/ has test files" in err
