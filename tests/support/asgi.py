"""Apps in-process: the real ASGI app, its lifespan run, driven by an HTTP client.

Proves the same HTTP contract as a server process in milliseconds; a few tests keep real
processes for what only they show (signals, several processes, sockets, kill -9).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from starlette.testclient import TestClient
from starlette.types import ASGIApp

from dockyard.runtime.app import create_app
from dockyard.spec import Spec, load_spec
from tests.support.waiting import eventually


@contextlib.contextmanager
def serving(
    app: ASGIApp, root: Path, ready: bool = True, timeout: float = 30.0
) -> Iterator[TestClient]:
    """Run `app` started (with `ready`: once /readyz answers 200); unload the project after."""
    try:
        # raise_server_exceptions=False: a crash is a 500 answer, as a real server gives.
        with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
            if ready:
                eventually(lambda: client.get("/readyz").status_code == 200, timeout, what="ready")
            yield client
    finally:
        _forget(root)


@contextlib.contextmanager
def in_process(root: Path, ready: bool = True, spec: Spec | None = None) -> Iterator[TestClient]:
    """The project's model service, as `python -m dockyard.runtime serve` would run it."""
    spec = spec or load_spec(root)
    with serving(
        create_app(spec, root, access_log=False, environ=os.environ), root, ready
    ) as client:
        yield client


def _forget(root: Path) -> None:
    """Unload modules imported from the project, so another project's same-named ones load."""
    inside = str(root.resolve())
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(inside):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(inside)]
