"""The import rules of docs/architecture.md hold (import-linter, contracts in pyproject.toml)."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import REPO


def test_imports_point_one_way(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The use case, not `importlinter.cli.lint_imports`: the CLI function runs
    # logging.config.dictConfig, which disables every logger that exists (dockyard's too), so
    # caplog tests that ran after this one saw nothing.
    from importlinter import configuration
    from importlinter.application import use_cases

    configuration.configure()
    ours = logging.getLogger("dockyard.webhooks")
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO))
    passed = use_cases.lint_imports(
        config_filename=str(REPO / "pyproject.toml"), cache_dir=None, no_logo=True
    )
    assert passed, capsys.readouterr().out
    assert not ours.disabled, "linting the imports switched off the project's loggers"
