"""Waiting for readiness against a real HTTP server: stop at a terminal state, say why."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockyard.image.startup import Outcome, Readiness, engine_reason, explain, wait_ready


class _Failed(BaseHTTPRequestHandler):
    """A service whose setup failed: /readyz answers 503 with state `failed` and its reason."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"ready": False, "state": "failed", "reason": "setup failed: weights corrupt"}
        ).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failed_service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_failed_state_ends_the_wait_at_once(failed_service: str) -> None:
    started = time.monotonic()
    outcome = wait_ready(failed_service, lambda: True, timeout_s=30)
    assert time.monotonic() - started < 5
    assert outcome.verdict == "failed"
    assert outcome.readiness == Readiness(False, "failed", "setup failed: weights corrupt")


def test_an_exited_container_ends_the_wait_at_once() -> None:
    outcome = wait_ready("http://127.0.0.1:9", lambda: False, timeout_s=30)
    assert outcome.verdict == "exited" and outcome.elapsed_s < 5


def test_the_engine_reason_names_oom_signal_or_exit_code() -> None:
    oom = [{"status": "oom"}, {"status": "die", "Actor": {"Attributes": {"exitCode": "137"}}}]
    assert engine_reason(None, oom) == "killed for running out of memory (OOMKilled)"
    assert engine_reason({"Running": False, "ExitCode": 143}, []) == (
        "killed by SIGTERM (exit code 143)"
    )
    died = [{"status": "die", "Actor": {"Attributes": {"exitCode": "3"}}}]
    assert engine_reason(None, died) == "exited with code 3"


def test_the_message_has_time_state_reason_limit_and_logs() -> None:
    outcome = Outcome("exited", 1.94, Readiness(False))
    text = explain(outcome, "killed for running out of memory (OOMKilled)", 48 * 1024**2,
                   ["loading weights", "Killed"])  # fmt: skip
    assert text.splitlines()[0] == (
        "the container stopped: killed for running out of memory (OOMKilled) after 1.9s"
    )
    assert "resources.memory = 48 MiB" in text and text.endswith("  Killed")
    failed = Outcome("failed", 16.2, Readiness(False, "failed", "setup failed: boom"))
    assert explain(failed, "still running", 2**30, []).splitlines()[:2] == [
        "the service reported state 'failed' after 16.2s",
        "  /readyz: state failed: setup failed: boom",
    ]
