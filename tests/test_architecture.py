"""The import rules of docs/architecture.md hold (import-linter, contracts in pyproject.toml)."""

from __future__ import annotations

import pytest
from importlinter.cli import lint_imports

from tests.conftest import REPO


def test_imports_point_one_way(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out
