"""The service in-process: the real ASGI app, its lifespan run, driven by an HTTP client.

Proves the same HTTP contract as a server process in milliseconds; a few tests keep real
processes for what only they show (signals, several processes, sockets).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from starlette.testclient import TestClient

from dockyard.runtime.app import create_app
from dockyard.spec import load_spec
from tests.support.waiting import eventually


@contextlib.contextmanager
def in_process(
    root: Path, ready: bool = True, access_log: bool = False, timeout: float = 30.0
) -> Iterator[TestClient]:
    """The project's app, started; with `ready`, once /readyz answers 200. Shut down after."""
    spec = load_spec(root)
    module = spec.model.entrypoint.split(":", 1)[0]
    try:
        app = create_app(spec, root, access_log)
        # raise_server_exceptions=False: a crash is a 500 answer, as a real server gives.
        with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
            if ready:
                eventually(lambda: client.get("/readyz").status_code == 200, timeout, what="ready")
            yield client
    finally:
        _forget(root, module)


def _forget(root: Path, module: str) -> None:
    """Unload the project's model module, so the next project's same-named module is its own."""
    for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
        del sys.modules[name]
    with contextlib.suppress(ValueError):
        sys.path.remove(str(root))
