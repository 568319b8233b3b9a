"""Shared fixtures: the service in-process (most tests) and real server processes (a few)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.asgi import in_process
from tests.support.ports import free_port
from tests.support.procs import Process, Server

# jsonschema imports rfc3987_syntax when it is installed, which compiles ~40 lark grammars (~2 s,
# a third of collection) for the iri/uri formats. No test checks formats (no FormatChecker), so
# the test process goes without it; jsonschema treats it as not installed.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

REPO = Path(__file__).resolve().parents[1]
__all__ = ["REPO", "Process", "Server", "free_port"]  # re-exported for older imports

App = Callable[..., TestClient]


@pytest.fixture
def serve() -> Iterator[type[Server]]:
    """Start server processes with `serve(root, *args)`; every one is stopped after the test."""
    started: list[Server] = []

    class _Tracked(Server):
        def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
            super().__init__(root, *args, env=env)
            started.append(self)

    yield _Tracked
    for server in started:
        server.stop()


@pytest.fixture
def app() -> Iterator[App]:
    """Start a project's app in-process with `app(root, ready=True)`; shut down after the test."""
    with contextlib.ExitStack() as stack:

        def start(root: Path, ready: bool = True) -> TestClient:
            return stack.enter_context(in_process(root, ready=ready))

        yield start
