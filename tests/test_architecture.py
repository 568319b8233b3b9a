"""The import rules of docs/architecture.md hold (import-linter, contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import fnmatch
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


# Modules that may read the process environment: entry points, which pass what they read down.
ENV_READERS = {
    "dockyard/cli/*": "the CLI is the host's entry point",
    "dockyard/runtime/__main__.py": "container entry point",
    "dockyard/runtime/*/__main__.py": "process entry points (pipeline, router, scheduler)",
    "dockyard/runtime/entry/*": "the one entrypoint layer of every long-running process",
    "dockyard/runtime/server.py": "the API's entry: hands root and options to uvicorn's workers",
    "dockyard/runtime/worker/__init__.py": "the worker process's entry (Edge.read)",
    "dockyard/image/oci.py": "docker's credential helpers are configured by the environment",
    # prometheus_client itself picks multiprocess mode from PROMETHEUS_MULTIPROC_DIR in every
    # process; metrics.py reads the same variable so the exposition agrees with it.
    "dockyard/runtime/metrics.py": "prometheus_client's own multiprocess switch",
    # The spec's [env] must be in the environment before the model's libraries are imported;
    # model_env.py is that one write (os.environ.setdefault) and nothing else.
    "dockyard/runtime/model_env.py": "writes the spec's [env] for the model's libraries",
}


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / os.putenv, or import them from os."""
    names = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in names
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in names]
    return lines


def test_only_entry_points_read_the_environment() -> None:
    src = REPO / "src"
    found = {
        f"{path.relative_to(src).as_posix()}:{line}"
        for path in sorted((src / "dockyard").rglob("*.py"))
        if not any(fnmatch.fnmatch(path.relative_to(src).as_posix(), g) for g in ENV_READERS)
        for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert not found, f"read the environment in an entry point and pass it down: {sorted(found)}"


def test_the_model_env_writer_only_sets_defaults() -> None:
    """The allow-listed write stays that one write: os.environ.setdefault, no other access."""
    tree = ast.parse((REPO / "src/dockyard/runtime/model_env.py").read_text(encoding="utf-8"))
    touches = {
        id(node)
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name))
        and node.value.id == "os"
        and node.attr not in {"path"}
    }
    setdefaults = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "setdefault"
        and isinstance(node.value, ast.Attribute)
        and isinstance(node.value.value, ast.Name)
        and (node.value.value.id, node.value.attr) == ("os", "environ")
    }
    assert setdefaults, "model_env.py no longer writes the spec's [env]"
    assert touches == setdefaults, "model_env.py may only call os.environ.setdefault"
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "os"]
