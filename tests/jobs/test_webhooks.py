"""Completion webhooks: signed, retried with backoff while the receiver is down, recorded."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.queue import JobQueue, JobState, NewJob, WebhookState, put
from dockyard.runtime.webhooks import (
    JOB_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDispatcher,
    read_secret,
    sign,
    verify,
)
from tests.jobs.conftest import FakeClock
from tests.support.ports import free_port

SECRET = b"s3cret"


class Receiver:
    """A real HTTP receiver on 127.0.0.1: down until `up()`, then answers scripted statuses."""

    def __init__(self, script: list[int]) -> None:
        self.script, self.requests = script, list[tuple[dict[str, str], bytes]]()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.server: http.server.ThreadingHTTPServer | None = None

    def up(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                self.send_response(receiver.script.pop(0) if receiver.script else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver([])
    yield made
    made.down()


def finish_with_webhook(queue: JobQueue, url: str) -> str:
    job = put(queue, NewJob(3, webhook=url))
    (claim,) = queue.claim(1, 10, "w")
    queue.ack(claim, 6)
    return job.id


def dispatcher(queue: JobQueue, max_attempts: int = 5) -> WebhookDispatcher:
    return WebhookDispatcher(queue, SECRET, max_attempts=max_attempts, backoff_s=1)


def test_signature_round_trip() -> None:
    body, now = b'{"job": 1}', 1_700_000_000
    assert verify(SECRET, body, sign(SECRET, body, now), str(now), now=now)
    assert not verify(SECRET, body + b" ", sign(SECRET, body, now), str(now), now=now)
    assert not verify(b"other", body, sign(SECRET, body, now), str(now), now=now)


def test_receiver_down_then_up_is_retried_with_backoff(
    queue: JobQueue, clock: FakeClock, receiver: Receiver
) -> None:
    job_id = finish_with_webhook(queue, receiver.url)
    hooks = dispatcher(queue)
    assert hooks.run_once() == 1  # refused: nothing listens yet
    assert hooks.run_once() == 0  # backing off 1 s
    receiver.script = [503]
    receiver.up()
    clock.advance(1)
    assert hooks.run_once() == 1  # 503
    clock.advance(1)
    assert hooks.run_once() == 0  # backing off 2 s now
    clock.advance(1)
    assert hooks.run_once() == 1  # delivered
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.DELIVERED
    assert job.webhook_attempts == 3 and job.webhook_error is None
    headers, content = receiver.requests[-1]
    headers = {k.lower(): v for k, v in headers.items()}
    assert verify(
        SECRET, content, headers[SIGNATURE_HEADER.lower()], headers[TIMESTAMP_HEADER.lower()]
    )
    assert headers[JOB_HEADER.lower()] == job_id
    body = json.loads(content)
    assert body["event"] == "job.done" and body["job"]["result"] == 6


def test_gives_up_after_max_attempts_and_records_the_error(
    queue: JobQueue, clock: FakeClock, receiver: Receiver
) -> None:
    job_id = finish_with_webhook(queue, receiver.url)
    receiver.script = [500] * 10
    receiver.up()
    hooks = dispatcher(queue, max_attempts=2)
    hooks.run_once()
    clock.advance(5)
    hooks.run_once()
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.FAILED
    assert job.webhook_error == "HTTP 500" and job.webhook_attempts == 2


def test_dead_letters_notify_too(queue: JobQueue, receiver: Receiver) -> None:
    put(queue, NewJob(3, webhook=receiver.url))
    (claim,) = queue.claim(1, 10, "w")
    queue.dead_letter(claim, "bad")
    receiver.up()
    dispatcher(queue).run_once()
    assert json.loads(receiver.requests[0][1])["event"] == "job.dead"
    assert queue.get(claim.id).state is JobState.DEAD  # type: ignore[union-attr]


def test_secret_from_env_or_mounted_file(tmp_path: Path) -> None:
    (tmp_path / "hook-key").write_text("from-file\n")
    assert read_secret("hook-key", {}, tmp_path) == b"from-file"
    assert read_secret("hook-key", {"DOCKYARD_SECRET_HOOK_KEY": "env"}, tmp_path) == b"env"
    assert read_secret("missing", {}, tmp_path) is None
    assert read_secret(None, {}, tmp_path) is None
