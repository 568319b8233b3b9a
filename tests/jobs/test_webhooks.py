"""Completion webhooks: signed, retried with backoff while the receiver is down, recorded."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from dockyard.runtime.queue import JobQueue, JobState, NewJob, WebhookState, put
from dockyard.runtime.webhooks import (
    JOB_HEADER,
    SIGNATURE_HEADER,
    WebhookDispatcher,
    read_secret,
    sign,
    verify,
)
from tests.jobs.conftest import FakeClock

SECRET = b"s3cret"


class Receiver:
    """An HTTP receiver (as an httpx transport) that is down, then erroring, then up."""

    def __init__(self, script: list[int | None]) -> None:
        self.script, self.requests = script, list[httpx.Request]()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.script.pop(0) if self.script else 200
        if status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status)


def finish_with_webhook(queue: JobQueue) -> str:
    job = put(queue, NewJob(3, webhook="http://receiver/hook"))
    (claim,) = queue.claim(1, 10, "w")
    queue.ack(claim, 6)
    return job.id


def dispatcher(queue: JobQueue, receiver: Receiver, max_attempts: int = 5) -> WebhookDispatcher:
    client = httpx.Client(transport=httpx.MockTransport(receiver))
    return WebhookDispatcher(queue, SECRET, max_attempts=max_attempts, backoff_s=1, client=client)


def test_signature_round_trip() -> None:
    body = b'{"job": 1}'
    assert verify(SECRET, body, sign(SECRET, body))
    assert not verify(SECRET, body + b" ", sign(SECRET, body))
    assert not verify(b"other", body, sign(SECRET, body))


def test_receiver_down_then_up_is_retried_with_backoff(queue: JobQueue, clock: FakeClock) -> None:
    job_id = finish_with_webhook(queue)
    receiver = Receiver([None, 503])
    hooks = dispatcher(queue, receiver)
    assert hooks.run_once() == 1  # refused
    assert hooks.run_once() == 0  # backing off 1 s
    clock.advance(1)
    assert hooks.run_once() == 1  # 503
    clock.advance(1)
    assert hooks.run_once() == 0  # backing off 2 s now
    clock.advance(1)
    assert hooks.run_once() == 1  # delivered
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.DELIVERED
    assert job.webhook_attempts == 3 and job.webhook_error is None
    last = receiver.requests[-1]
    assert verify(SECRET, last.content, last.headers[SIGNATURE_HEADER])
    assert last.headers[JOB_HEADER] == job_id
    body = json.loads(last.content)
    assert body["event"] == "job.done" and body["job"]["result"] == 6


def test_gives_up_after_max_attempts_and_records_the_error(
    queue: JobQueue, clock: FakeClock
) -> None:
    job_id = finish_with_webhook(queue)
    hooks = dispatcher(queue, Receiver([500] * 10), max_attempts=2)
    hooks.run_once()
    clock.advance(5)
    hooks.run_once()
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.FAILED
    assert job.webhook_error == "HTTP 500" and job.webhook_attempts == 2


def test_dead_letters_notify_too(queue: JobQueue) -> None:
    put(queue, NewJob(3, webhook="http://receiver/hook"))
    (claim,) = queue.claim(1, 10, "w")
    queue.dead_letter(claim, "bad")
    receiver = Receiver([])
    dispatcher(queue, receiver).run_once()
    assert json.loads(receiver.requests[0].content)["event"] == "job.dead"
    assert queue.get(claim.id).state is JobState.DEAD  # type: ignore[union-attr]


def test_secret_from_env_or_mounted_file(tmp_path: Path) -> None:
    (tmp_path / "hook-key").write_text("from-file\n")
    assert read_secret("hook-key", {}, tmp_path) == b"from-file"
    assert read_secret("hook-key", {"DOCKYARD_SECRET_HOOK_KEY": "env"}, tmp_path) == b"env"
    assert read_secret("missing", {}, tmp_path) is None
    assert read_secret(None, {}, tmp_path) is None
