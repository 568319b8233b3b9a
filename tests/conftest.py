"""Shared fixtures: free ports and real server processes (real HTTP, no mocks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A `python -m dockyard.runtime serve` process on 127.0.0.1."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Logs go to a scratch folder: the project may be a tracked example.
        self.log = Path(tempfile.mkdtemp(prefix="dockyard-server-")) / "server.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dockyard.runtime",
                "serve",
                str(root),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *args,
            ],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def wait(self, path: str = "/healthz", timeout: float = 30.0, status: int = 200) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1).status_code == status:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{path} never answered {status}:\n{self.log.read_text()}")

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode


@pytest.fixture
def serve() -> Iterator[type[Server]]:
    """Start servers with `serve(root, *args)`; every one is stopped after the test."""
    started: list[Server] = []

    class _Tracked(Server):
        def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
            super().__init__(root, *args, env=env)
            started.append(self)

    yield _Tracked
    for server in started:
        server.stop()
