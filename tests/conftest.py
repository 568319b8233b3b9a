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


class Process:
    """A child process logging to a file; stopped with SIGTERM (then SIGKILL), or kill -9'd."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_http(self, url: str, timeout: float = 30.0, status: int = 200) -> None:
        """Poll `url` until it answers `status`; fail with the log if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}:\n{self.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == status:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{url} never answered {status}:\n{self.log.read_text()}")

    def kill(self) -> None:
        """kill -9: no drain, no release; only leases bring its work back."""
        self.proc.kill()
        self.proc.wait()

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


class Server(Process):
    """A `python -m dockyard.runtime serve` process on 127.0.0.1."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Logs go to a scratch folder: the project may be a tracked example.
        log = Path(tempfile.mkdtemp(prefix="dockyard-server-")) / "server.log"
        command = [sys.executable, "-m", "dockyard.runtime", "serve", str(root),
                   "--host", "127.0.0.1", "--port", str(self.port), *args]  # fmt: skip
        super().__init__(command, log, env)

    def wait(self, path: str = "/healthz", timeout: float = 30.0, status: int = 200) -> None:
        self.wait_http(self.url + path, timeout, status)


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
