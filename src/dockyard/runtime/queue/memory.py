"""The in-memory fake: the reference semantics of `JobQueue`, for unit tests and local play."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from dockyard.errors import JobError
from dockyard.runtime.queue.base import (
    JSON,
    LEASE_LOST,
    Claim,
    Job,
    JobState,
    NewJob,
    QueueStats,
    WebhookState,
    new_token,
)

Clock = Callable[[], float]


class MemoryQueue:
    """Jobs in a dict behind one lock; nothing survives the process (that is the point)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._jobs: dict[str, Job] = {}
        self._keys: dict[str, str] = {}
        self._lock = threading.RLock()

    def put_many(self, jobs: Sequence[NewJob]) -> list[Job]:
        with self._lock:
            return [self._put(new, self.clock()) for new in jobs]

    def _put(self, new: NewJob, now: float) -> Job:
        if new.idempotency_key and new.idempotency_key in self._keys:
            return self._jobs[self._keys[new.idempotency_key]]
        job = new.to_job(now)
        self._jobs[job.id] = job
        if new.idempotency_key:
            self._keys[new.idempotency_key] = job.id
        return job

    def claim(self, n: int, lease_s: float, worker: str) -> list[Claim]:
        with self._lock:
            now = self.clock()
            self._expire_leases(now)
            due = sorted(
                (j for j in self._jobs.values() if j.state is JobState.QUEUED and j.run_at <= now),
                key=lambda j: (j.run_at, j.id),
            )
            return [self._take(job, now, lease_s, worker) for job in due[:n]]

    def _expire_leases(self, now: float) -> None:
        for job in list(self._jobs.values()):
            if job.state is not JobState.RUNNING or (job.lease_expires_at or 0) > now:
                continue
            if job.attempts >= job.max_attempts:
                self._finish(
                    job, now, JobState.DEAD, error=LEASE_LOST.format(attempts=job.attempts)
                )
            else:
                self._set(
                    job,
                    state=JobState.QUEUED,
                    run_at=now,
                    lease_token=None,
                    error=LEASE_LOST.format(attempts=job.attempts),
                    updated_at=now,
                )

    def _take(self, job: Job, now: float, lease_s: float, worker: str) -> Claim:
        token = new_token()
        taken = self._set(
            job,
            state=JobState.RUNNING,
            attempts=job.attempts + 1,
            lease_token=token,
            lease_expires_at=now + lease_s,
            worker=worker,
            started_at=now,
            updated_at=now,
        )
        return Claim(taken, token)

    def ack(self, claim: Claim, result: JSON) -> bool:
        with self._lock:
            job = self._held(claim)
            if job is None:
                return False
            self._finish(job, self.clock(), JobState.DONE, result=result, error=None)
            return True

    def ack_many(self, done: Sequence[tuple[Claim, JSON]]) -> builtins.list[bool]:
        with self._lock:
            return [self.ack(claim, result) for claim, result in done]

    def nack(self, claim: Claim, error: str, delay_s: float) -> bool:
        with self._lock:
            job, now = self._held(claim), self.clock()
            if job is None:
                return False
            self._set(
                job,
                state=JobState.QUEUED,
                run_at=now + delay_s,
                error=error,
                lease_token=None,
                lease_expires_at=None,
                updated_at=now,
            )
            return True

    def dead_letter(self, claim: Claim, error: str) -> bool:
        with self._lock:
            job = self._held(claim)
            if job is None:
                return False
            self._finish(job, self.clock(), JobState.DEAD, error=error)
            return True

    def release(self, claim: Claim) -> bool:
        with self._lock:
            job = self._held(claim)
            if job is None:
                return False
            self._set(
                job,
                state=JobState.QUEUED,
                attempts=job.attempts - 1,
                lease_token=None,
                lease_expires_at=None,
                updated_at=self.clock(),
            )
            return True

    def extend(self, claims: Sequence[Claim], lease_s: float) -> set[str]:
        with self._lock:
            now = self.clock()
            held = [job for job in map(self._held, claims) if job is not None]
            for job in held:
                self._set(job, lease_expires_at=now + lease_s, updated_at=now)
            return {job.id for job in held}

    def cancel(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobError(f"no job {job_id!r}")
            if job.state.final:
                raise JobError(f"job {job_id} is already {job.state.value}")
            return self._set(
                job,
                state=JobState.CANCELLED,
                finished_at=self.clock(),
                lease_token=None,
                lease_expires_at=None,
                updated_at=self.clock(),
            )

    def retry_dead(self, job_ids: Sequence[str] | None = None) -> int:
        with self._lock:
            now = self.clock()
            chosen = (
                self._jobs.values()
                if job_ids is None
                else [self._jobs[i] for i in job_ids if i in self._jobs]
            )
            dead = [j for j in chosen if j.state is JobState.DEAD]
            for job in dead:
                self._set(
                    job,
                    state=JobState.QUEUED,
                    attempts=0,
                    run_at=now,
                    finished_at=None,
                    webhook_state=None,
                    webhook_attempts=0,
                    webhook_next_at=None,
                    updated_at=now,
                )
            return len(dead)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(
        self,
        state: JobState | None = None,
        batch: str | None = None,
        limit: int = 100,
        after: str | None = None,
        owner: str | None = None,
    ) -> builtins.list[Job]:
        with self._lock:
            found = sorted(self._matching(state, batch, after, owner), key=lambda j: j.id)
            return found[:limit]

    def _matching(
        self, state: JobState | None, batch: str | None, after: str | None, owner: str | None
    ) -> Iterator[Job]:
        for job in self._jobs.values():
            if (state and job.state is not state) or (batch and job.batch != batch):
                continue
            if owner is not None and job.owner != owner:
                continue
            if after is None or job.id > after:
                yield job

    def stats(self) -> QueueStats:
        with self._lock:
            counts = dict.fromkeys(JobState, 0)
            for job in self._jobs.values():
                counts[job.state] += 1
            queued = [j.created_at for j in self._jobs.values() if j.state is JobState.QUEUED]
            pending = sum(j.webhook_state is WebhookState.PENDING for j in self._jobs.values())
            return QueueStats(counts, min(queued, default=None), pending)

    def purge_expired(self, retention_s: float) -> int:
        with self._lock:
            cutoff = self.clock() - retention_s
            old = [
                j for j in self._jobs.values() if j.state.final and (j.finished_at or 0) < cutoff
            ]
            for job in old:
                del self._jobs[job.id]
                if job.idempotency_key:
                    self._keys.pop(job.idempotency_key, None)
            return len(old)

    def claim_webhooks(self, n: int, lease_s: float) -> builtins.list[Job]:
        with self._lock:
            now = self.clock()
            due = sorted(
                (
                    j
                    for j in self._jobs.values()
                    if j.webhook_state is WebhookState.PENDING and (j.webhook_next_at or 0) <= now
                ),
                key=lambda j: (j.webhook_next_at or 0, j.id),
            )
            return [self._set(j, webhook_next_at=now + lease_s) for j in due[:n]]

    def record_webhook(self, job_id: str, error: str | None, retry_in_s: float | None) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            retry = error is not None and retry_in_s is not None
            state = (
                WebhookState.DELIVERED
                if error is None
                else WebhookState.PENDING
                if retry
                else WebhookState.FAILED
            )
            next_at = self.clock() + (retry_in_s or 0) if retry else None
            self._set(
                job,
                webhook_state=state,
                webhook_error=error,
                webhook_next_at=next_at,
                webhook_attempts=job.webhook_attempts + 1,
            )

    def close(self) -> None:
        """Nothing to release."""

    def _held(self, claim: Claim) -> Job | None:
        job = self._jobs.get(claim.id)
        if job is None or job.state is not JobState.RUNNING or job.lease_token != claim.token:
            return None
        return job

    def _finish(self, job: Job, now: float, state: JobState, **changes: Any) -> Job:
        webhook = WebhookState.PENDING if job.webhook and state is not JobState.CANCELLED else None
        return self._set(
            job,
            state=state,
            finished_at=now,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
            webhook_state=webhook,
            webhook_next_at=now if webhook else None,
            **changes,
        )

    def _set(self, job: Job, **changes: Any) -> Job:
        new = replace(job, **changes)
        self._jobs[job.id] = new
        return new
