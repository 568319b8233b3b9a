"""Real child processes for the few tests only a process can prove (signals, sockets, restarts)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port


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
        """SIGTERM, wait for the drain, SIGKILL after `timeout`; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode


class HttpProcess(Process):
    """A process serving HTTP on 127.0.0.1:`port`."""

    def __init__(
        self, command: list[str], log: Path, port: int, env: dict[str, str] | None = None
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        super().__init__(command, log, env)

    def wait(self, path: str = "/readyz", timeout: float = 30.0, status: int = 200) -> None:
        self.wait_http(self.url + path, timeout, status)


class Server(HttpProcess):
    """A `python -m dockyard.runtime serve` process on a free port."""

    def __init__(self, root: Path, *args: str, env: dict[str, str] | None = None) -> None:
        port = free_port()
        # Logs go to a scratch folder: the project may be a tracked example.
        log = Path(tempfile.mkdtemp(prefix="dockyard-server-")) / "server.log"
        command = [sys.executable, "-m", "dockyard.runtime", "serve", str(root),
                   "--host", "127.0.0.1", "--port", str(port), *args]  # fmt: skip
        super().__init__(command, log, port, env)

    def wait(self, path: str = "/healthz", timeout: float = 30.0, status: int = 200) -> None:
        self.wait_http(self.url + path, timeout, status)
