"""Local development: every version with a `path` runs as its own `dockyard.runtime serve` process.

Separate processes rather than several services in one event loop, because versions are separate
projects: two `model.py` files would collide in `sys.modules`, their dependencies may differ, and a
process per version is what the containers do, so a local run behaves like the stack.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dockyard.spec import Spec, resolve


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_versions(spec: Spec, root: Path, host: str = "127.0.0.1") -> Iterator[dict[str, str]]:
    """Start the versions that have a path; yield every version's URL; stop them on exit."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for version in spec.router.versions:
            if version.url is not None:
                urls[version.name] = version.url
                continue
            assert version.path is not None  # the spec holds exactly one of path and url
            port = free_port(host)
            processes.append(_start(resolve(root, version.path), host, port))
            urls[version.name] = f"http://{host}:{port}"
        yield urls
    finally:
        for process in processes:
            _stop(process)


def _start(project: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "dockyard.runtime", "serve", str(project)]
    return subprocess.Popen([*command, "--host", host, "--port", str(port)])


def _stop(process: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGTERM (the service drains), then SIGKILL if it outlives the grace period."""
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
