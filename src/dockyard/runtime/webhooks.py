"""Completion webhooks: signed (HMAC-SHA256 over `timestamp.body`), retried with backoff.

Delivery state lives on the job in the queue, so a webhook owed by a crashed worker is sent by
another one. Delivery is at-least-once: receivers dedupe on the `X-Dockyard-Job` header.
The timestamp is signed too, so a receiver refuses a captured delivery replayed later:
`verify(secret, body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from dockyard.errors import DockyardError
from dockyard.runtime.queue import Job, JobQueue, backoff

if TYPE_CHECKING:  # an instance comes in; the worker's health check never imports the policy
    from dockyard.runtime.auth.webhooks import WebhookPolicy

log = logging.getLogger("dockyard.webhooks")

SIGNATURE_HEADER = "X-Dockyard-Signature"
TIMESTAMP_HEADER = "X-Dockyard-Timestamp"
JOB_HEADER = "X-Dockyard-Job"
SECRETS_DIR = Path("/run/secrets")
REPLAY_WINDOW_S = 300


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header's value: HMAC-SHA256 over `"<timestamp>." + body`."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    body: bytes,
    signature: str,
    timestamp: str,
    *,
    window_s: float = REPLAY_WINDOW_S,
    now: float | None = None,
) -> bool:
    """True when `signature` was made with `secret` over exactly this timestamp and body, and
    the timestamp is within `window_s` of now (older deliveries may be replays)."""
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > window_s:
        return False
    return hmac.compare_digest(sign(secret, body, int(timestamp)), signature)


def payload(job: Job) -> bytes:
    """The body sent: the event and the job as `GET /jobs/{id}` shows it."""
    return json.dumps({"event": f"job.{job.state.value}", "job": job.public()}).encode()


def read_secret(
    name: str | None, environ: Mapping[str, str], secrets_dir: Path = SECRETS_DIR
) -> bytes | None:
    """A secret's value: env DOCKYARD_SECRET_<NAME>, else the mounted file /run/secrets/<name>."""
    if name is None:
        return None
    value = environ.get("DOCKYARD_SECRET_" + name.upper().replace("-", "_"))
    if value is not None:
        return value.encode()
    path = secrets_dir / name
    return path.read_bytes().strip() if path.is_file() else None


def webhook_secret(
    name: str | None, environ: Mapping[str, str], secrets_dir: Path = SECRETS_DIR
) -> bytes | None:
    """The signing secret the spec names; a named secret that is missing is an error, and no
    secret at all is a warning (receivers cannot tell a forged delivery from a real one)."""
    if name is None:
        log.warning(
            "webhooks are sent unsigned: set worker.webhook_secret to the name of a secret "
            "(env DOCKYARD_SECRET_<NAME> or /run/secrets/<name>)"
        )
        return None
    secret = read_secret(name, environ, secrets_dir)
    if secret is None:
        env = "DOCKYARD_SECRET_" + name.upper().replace("-", "_")
        raise DockyardError(
            f"worker.webhook_secret names {name!r}, but neither {env} nor "
            f"{secrets_dir / name} exists: provide the secret, or remove webhook_secret"
        )
    return secret


class WebhookDispatcher:
    """Claims due deliveries from the queue, posts them, records the outcome or the next try."""

    def __init__(
        self,
        queue: JobQueue,
        secret: bytes | None,
        *,
        max_attempts: int = 8,
        backoff_s: float = 1.0,
        backoff_max_s: float = 300.0,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        policy: WebhookPolicy | None = None,
    ) -> None:
        self.queue, self.secret, self.max_attempts = queue, secret, max_attempts
        self.backoff_s, self.backoff_max_s, self.timeout_s = backoff_s, backoff_max_s, timeout_s
        self.client = client or httpx.Client(timeout=timeout_s)
        self.policy = policy  # None: no address check (tests and trusted callers only)

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """Deliver until `stop` is set."""
        while not stop.is_set():
            try:
                sent = self.run_once()
            except Exception as exc:  # queue down: try again later
                log.warning("webhook poll failed", extra={"error": repr(exc)})
                sent = 0
            if not sent:
                stop.wait(poll_s)

    def run_once(self, n: int = 16) -> int:
        """Deliver the due webhooks (at most `n`); return how many were attempted."""
        jobs = self.queue.claim_webhooks(n, lease_s=2 * self.timeout_s + 1)
        for job in jobs:
            self.deliver(job)
        return len(jobs)

    def deliver(self, job: Job) -> None:
        """Post one job's webhook and record what happened."""
        error = self._post(job)
        attempt = job.webhook_attempts + 1
        retry = error is not None and attempt < self.max_attempts
        delay = backoff(attempt, self.backoff_s, self.backoff_max_s) if retry else None
        self.queue.record_webhook(job.id, error, delay)
        log.info("webhook", extra={"job_id": job.id, "attempt": attempt, "error": error})

    def _post(self, job: Job) -> str | None:
        body = payload(job)
        refused = self.policy.delivery_refusal(job.webhook or "") if self.policy else None
        if refused:
            return f"refused: {refused}"
        headers = {"Content-Type": "application/json", JOB_HEADER: job.id}
        if self.secret is not None:
            timestamp = int(time.time())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self.secret, body, timestamp)
        try:
            response = self.client.post(job.webhook or "", content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if response.is_success else f"HTTP {response.status_code}"
