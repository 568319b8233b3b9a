"""The job record, its states, and the `JobQueue` interface every back end implements."""

from __future__ import annotations

import builtins
import enum
import itertools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pydantic_core import from_json, to_json

JSON = Any


class JobState(enum.Enum):
    """Where a job is; DONE, DEAD and CANCELLED are final and never left (except dead -> retry)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (JobState.DONE, JobState.DEAD, JobState.CANCELLED)


class WebhookState(enum.Enum):
    """Delivery of a job's completion webhook: recorded on the job so it survives restarts."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class NewJob:
    """What a submitter asks for; the queue turns it into a `Job` (or returns the existing one)."""

    input: JSON
    idempotency_key: str | None = None
    webhook: str | None = None
    batch: str | None = None
    max_attempts: int = 3
    owner: str | None = None  # the submitting API key's id; None when auth is off

    def to_job(self, now: float) -> Job:
        """The stored job for this request, queued and due `now` (every back end starts here)."""
        return Job(
            id=new_job_id(now),
            input=self.input,
            max_attempts=self.max_attempts,
            idempotency_key=self.idempotency_key,
            batch=self.batch,
            webhook=self.webhook,
            created_at=now,
            updated_at=now,
            run_at=now,
            owner=self.owner,
        )


@dataclass(frozen=True)
class Job:
    """A job as stored: input, state, result or last error, attempts, lease, webhook delivery."""

    id: str
    input: JSON
    state: JobState = JobState.QUEUED
    result: JSON = None
    error: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    idempotency_key: str | None = None
    batch: str | None = None
    webhook: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    run_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    worker: str | None = None
    lease_token: str | None = None
    lease_expires_at: float | None = None
    webhook_state: WebhookState | None = None
    webhook_attempts: int = 0
    webhook_error: str | None = None
    webhook_next_at: float | None = None
    owner: str | None = None

    def public(self) -> dict[str, JSON]:
        """The job as the API and CLI show it (no lease internals)."""
        data = to_fields(self)
        for internal in ("lease_token", "webhook_next_at"):
            data.pop(internal)
        data["input"], data["result"] = self.input, self.result
        return data


@dataclass(frozen=True)
class Claim:
    """A job held by one worker; `token` proves the lease, so a stale holder cannot finish it."""

    job: Job
    token: str

    @property
    def id(self) -> str:
        return self.job.id


@dataclass(frozen=True)
class QueueStats:
    """Counts per state plus what alerting needs: retries waiting and the oldest queued job."""

    counts: Mapping[JobState, int] = field(default_factory=dict)
    oldest_queued_at: float | None = None
    webhooks_pending: int = 0

    def count(self, state: JobState) -> int:
        return self.counts.get(state, 0)


class JobQueue(Protocol):
    """A durable job queue with leases. Every back end (memory, sqlite, redis) implements it.

    The contract, which the shared test suite in tests/jobs checks for each back end:

    * `put_many` is idempotent per `idempotency_key`: a known key returns the stored job.
    * `claim(n, lease_s, worker)` hands out up to `n` runnable jobs (queued with `run_at <= now`,
      or running with an expired lease), oldest first, each with a fresh lease token, and
      counts the attempt. A job whose lease expired on its last attempt is dead-lettered instead.
    * `ack`, `nack`, `dead_letter` and `release` are compare-and-set on the lease token: they
      return False and change nothing when the claim is stale (lease lost, job cancelled), so a
      duplicate execution can never record a second or different result.
    * `ack_many` is `ack` for a whole batch in one write (one fsync, one round trip).
    * `extend` renews leases still held and returns the ids it renewed.
    * `list(..., owner=id)` returns only jobs submitted by that key id (None: everyone's).
    * Delays are relative (`nack(..., delay_s)`), so callers never mix their clock with the queue's.
    * Times come from the queue's clock (injected, so tests can move it).
    """

    def put_many(self, jobs: Sequence[NewJob]) -> list[Job]: ...
    def claim(self, n: int, lease_s: float, worker: str) -> list[Claim]: ...
    def ack(self, claim: Claim, result: JSON) -> bool: ...
    def ack_many(self, done: Sequence[tuple[Claim, JSON]]) -> builtins.list[bool]: ...
    def nack(self, claim: Claim, error: str, delay_s: float) -> bool: ...
    def dead_letter(self, claim: Claim, error: str) -> bool: ...
    def release(self, claim: Claim) -> bool: ...
    def extend(self, claims: Sequence[Claim], lease_s: float) -> set[str]: ...
    def cancel(self, job_id: str) -> Job: ...
    def retry_dead(self, job_ids: Sequence[str] | None = None) -> int: ...
    def get(self, job_id: str) -> Job | None: ...
    def list(
        self,
        state: JobState | None = None,
        batch: str | None = None,
        limit: int = 100,
        after: str | None = None,
        owner: str | None = None,
    ) -> builtins.list[Job]: ...
    def stats(self) -> QueueStats: ...
    def purge_expired(self, retention_s: float) -> int: ...
    def claim_webhooks(self, n: int, lease_s: float) -> builtins.list[Job]: ...
    def record_webhook(self, job_id: str, error: str | None, retry_in_s: float | None) -> None: ...
    def close(self) -> None: ...


def put(queue: JobQueue, job: NewJob) -> Job:
    """Submit one job (a batch of one)."""
    return queue.put_many([job])[0]


_SEQUENCE = itertools.count()


def new_job_id(now: float) -> str:
    """Time-ordered id: ms timestamp, a per-process counter (order within a ms), randomness."""
    return f"{int(now * 1000):012x}{next(_SEQUENCE) % 16**6:06x}{secrets.token_hex(5)}"


def new_token() -> str:
    """A lease token; unguessable so only the claimant can finish the job."""
    return secrets.token_hex(12)


def backoff(attempt: int, base_s: float, max_s: float) -> float:
    """Delay before retry number `attempt` (1-based): base * 2**(attempt-1), capped."""
    return float(min(max_s, base_s * 2 ** max(0, attempt - 1)))


LEASE_LOST = "lease expired: the worker died or stalled during attempt {attempts}"

_ENUMS = {"state": JobState, "webhook_state": WebhookState}
_INTS = {"attempts", "max_attempts", "webhook_attempts"}
_FLOATS = {
    "created_at",
    "updated_at",
    "run_at",
    "started_at",
    "finished_at",
    "lease_expires_at",
    "webhook_next_at",
}
FIELDS = tuple(Job.__dataclass_fields__)


def to_fields(job: Job) -> dict[str, JSON]:
    """Flat, JSON-friendly mapping of a job; the storage format of sqlite rows and redis hashes."""
    data = asdict(job)
    for name in _ENUMS:
        data[name] = data[name].value if data[name] is not None else None
    data["input"] = encode_json(job.input)
    data["result"] = encode_json(job.result)
    return data


def encode_json(value: JSON) -> str | None:
    """A job's input or result as stored (JSON text); None stays None (no result is not null).

    pydantic-core's encoder, not the stdlib's: results are often embeddings (hundreds of floats
    per job) and this is ~3x faster on them, which is worker throughput.
    """
    return None if value is None else to_json(value).decode()


def from_fields(data: Mapping[str, Any]) -> Job:
    """Inverse of `to_fields`; accepts strings for every value (redis) or typed values (sqlite)."""
    values: dict[str, Any] = {}
    for name in FIELDS:
        raw = data.get(name)
        if raw is None or raw == "":
            values[name] = None if name not in _INTS else 0
        elif name in _ENUMS:
            values[name] = _ENUMS[name](raw)
        elif name in _INTS:
            values[name] = int(raw)
        elif name in _FLOATS:
            values[name] = float(raw)
        elif name in ("input", "result"):
            values[name] = from_json(raw)
        else:
            values[name] = str(raw)
    return Job(**values)
