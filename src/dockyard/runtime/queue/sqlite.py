"""SQLite back end: one WAL-mode file, safe for an API and several worker processes on one host.

Every state change is a single transaction; the ones that finish a job are compare-and-set on
the lease token (`WHERE state='running' AND lease_token=?`), so a worker that lost its lease
cannot overwrite the result recorded by the worker that took the job over.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dockyard.errors import JobError
from dockyard.runtime.queue.base import (
    FIELDS,
    JSON,
    LEASE_LOST,
    Claim,
    Job,
    JobState,
    NewJob,
    QueueStats,
    encode_json,
    from_fields,
    to_fields,
)

Clock = Callable[[], float]

_TYPES = {"attempts": "INTEGER", "max_attempts": "INTEGER", "webhook_attempts": "INTEGER"}
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS jobs ({})".format(
        ", ".join(
            "id TEXT PRIMARY KEY" if f == "id" else f"{f} {_TYPES.get(f, 'ANY')}" for f in FIELDS
        )
    ).replace(" ANY", ""),
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, run_at, id)",
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(state, lease_expires_at)",
    "CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(state, finished_at)",
    "CREATE INDEX IF NOT EXISTS jobs_batch ON jobs(batch, id)",
    "CREATE INDEX IF NOT EXISTS jobs_webhook ON jobs(webhook_state, webhook_next_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs(idempotency_key)"
    " WHERE idempotency_key IS NOT NULL",
]
# Columns added after a release, for files made by an older version (added before the indexes).
_ADDED = {"owner": "ALTER TABLE jobs ADD COLUMN owner"}
_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, id)"
_HELD = "id = ? AND state = 'running' AND lease_token = ?"
# A finished job with a webhook becomes due for delivery in the same statement that finishes it.
_FINISH = (
    "finished_at = :now, updated_at = :now, lease_token = NULL, lease_expires_at = NULL, "
    "webhook_state = CASE WHEN webhook IS NULL THEN NULL ELSE 'pending' END, "
    "webhook_next_at = CASE WHEN webhook IS NULL THEN NULL ELSE :now END"
)
_FINAL = "('done', 'dead', 'cancelled')"
PURGE_CHUNK = 500


class SqliteQueue:
    """A `JobQueue` in one SQLite file; each process opens its own connection."""

    def __init__(self, path: Path | str, clock: Clock = time.time, timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.clock = clock
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            f"busy_timeout={int(timeout_s * 1000)}",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            have = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, statement in _ADDED.items():
                if column not in have:
                    db.execute(statement)
            db.execute(_OWNER_INDEX)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, so it never fails half-way on BUSY."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement (atomic on its own) and return the rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Job]:
        with self._lock:
            return [from_fields(dict(row)) for row in self._db.execute(sql, params)]

    def put_many(self, jobs: Sequence[NewJob]) -> list[Job]:
        with self._tx() as db:
            return [self._put(db, new, self.clock()) for new in jobs]

    def _put(self, db: sqlite3.Connection, new: NewJob, now: float) -> Job:
        if new.idempotency_key:
            row = db.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (new.idempotency_key,))
            found = row.fetchone()
            if found:
                return from_fields(dict(found))
        job = new.to_job(now)
        fields = to_fields(job)
        db.execute(
            f"INSERT INTO jobs ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
            list(fields.values()),
        )
        return job

    def claim(self, n: int, lease_s: float, worker: str) -> list[Claim]:
        with self._tx() as db:
            now = self.clock()
            self._expire_leases(db, now)
            rows = db.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
                "lease_token = lower(hex(randomblob(12))), lease_expires_at = ?, worker = ?, "
                "started_at = ?, updated_at = ? WHERE id IN (SELECT id FROM jobs "
                "WHERE state = 'queued' AND run_at <= ? ORDER BY run_at, id LIMIT ?) RETURNING *",
                (now + lease_s, worker, now, now, now, n),
            ).fetchall()
        jobs = sorted((from_fields(dict(r)) for r in rows), key=lambda j: (j.run_at, j.id))
        return [Claim(job, job.lease_token or "") for job in jobs]

    def _expire_leases(self, db: sqlite3.Connection, now: float) -> None:
        lost = "replace(:lost, '{attempts}', attempts)"
        params = {"now": now, "lost": LEASE_LOST}
        expired = "state = 'running' AND lease_expires_at <= :now"
        db.execute(
            f"UPDATE jobs SET state = 'dead', error = {lost}, {_FINISH} "
            f"WHERE {expired} AND attempts >= max_attempts",
            params,
        )
        db.execute(
            f"UPDATE jobs SET state = 'queued', run_at = :now, updated_at = :now, "
            f"lease_token = NULL, lease_expires_at = NULL, error = {lost} WHERE {expired}",
            params,
        )

    def ack(self, claim: Claim, result: JSON) -> bool:
        return self.ack_many([(claim, result)])[0]

    def ack_many(self, done: Sequence[tuple[Claim, JSON]]) -> builtins.list[bool]:
        with self._tx():
            return [
                self._finish_held(claim, "done", result=encode_json(result), error=None)
                for claim, result in done
            ]

    def dead_letter(self, claim: Claim, error: str) -> bool:
        return self._finish_held(claim, "dead", error=error)

    def _finish_held(self, claim: Claim, state: str, **values: Any) -> bool:
        sets = ", ".join(f"{k} = :{k}" for k in values)
        params = {
            **values,
            "now": self.clock(),
            "state": state,
            "id": claim.id,
            "token": claim.token,
        }
        return (
            self._one(
                f"UPDATE jobs SET state = :state, {sets}, {_FINISH} "
                "WHERE id = :id AND state = 'running' AND lease_token = :token",
                params,
            )
            == 1
        )

    def nack(self, claim: Claim, error: str, delay_s: float) -> bool:
        now = self.clock()
        return (
            self._one(
                "UPDATE jobs SET state = 'queued', run_at = ?, error = ?, lease_token = NULL, "
                f"lease_expires_at = NULL, updated_at = ? WHERE {_HELD}",
                (now + delay_s, error, now, claim.id, claim.token),
            )
            == 1
        )

    def release(self, claim: Claim) -> bool:
        return (
            self._one(
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_token = NULL, "
                f"lease_expires_at = NULL, updated_at = ? WHERE {_HELD}",
                (self.clock(), claim.id, claim.token),
            )
            == 1
        )

    def extend(self, claims: Sequence[Claim], lease_s: float) -> set[str]:
        with self._tx() as db:
            now = self.clock()
            sql = f"UPDATE jobs SET lease_expires_at = ?, updated_at = ? WHERE {_HELD}"
            return {
                c.id
                for c in claims
                if db.execute(sql, (now + lease_s, now, c.id, c.token)).rowcount
            }

    def cancel(self, job_id: str) -> Job:
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobError(f"no job {job_id!r}")
            if JobState(row["state"]).final:
                raise JobError(f"job {job_id} is already {row['state']}")
            now = self.clock()
            db.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, "
                "lease_token = NULL, lease_expires_at = NULL WHERE id = ?",
                (now, now, job_id),
            )
            found = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return from_fields(dict(found))

    def retry_dead(self, job_ids: Sequence[str] | None = None) -> int:
        chosen = "" if job_ids is None else f" AND id IN ({', '.join('?' * len(job_ids))})"
        return self._one(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, updated_at = ?, "
            "finished_at = NULL, webhook_state = NULL, webhook_attempts = 0, "
            f"webhook_next_at = NULL WHERE state = 'dead'{chosen}",
            [self.clock(), self.clock(), *(job_ids or ())],
        )

    def get(self, job_id: str) -> Job | None:
        found = self._rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return found[0] if found else None

    def list(
        self,
        state: JobState | None = None,
        batch: str | None = None,
        limit: int = 100,
        after: str | None = None,
        owner: str | None = None,
    ) -> builtins.list[Job]:
        where, params = ["1 = 1"], []
        for column, op, value in (
            ("state", "=", state and state.value),
            ("batch", "=", batch),
            ("owner", "=", owner),
            ("id", ">", after),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        sql = f"SELECT * FROM jobs WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return self._rows(sql, [*params, limit])

    def stats(self) -> QueueStats:
        with self._lock:
            db = self._db
            counts = dict.fromkeys(JobState, 0)
            for state, count in db.execute("SELECT state, count(*) FROM jobs GROUP BY state"):
                counts[JobState(state)] = count
            oldest = db.execute("SELECT min(created_at) FROM jobs WHERE state = 'queued'")
            pending = db.execute("SELECT count(*) FROM jobs WHERE webhook_state = 'pending'")
            return QueueStats(counts, oldest.fetchone()[0], pending.fetchone()[0])

    def purge_expired(self, retention_s: float) -> int:
        """Delete in chunks, each its own short transaction, so writers are never held long."""
        cutoff, total = self.clock() - retention_s, 0
        sql = (
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs "
            f"WHERE state IN {_FINAL} AND finished_at < ? LIMIT ?)"
        )
        while (removed := self._one(sql, (cutoff, PURGE_CHUNK))) > 0:
            total += removed
        return total

    def claim_webhooks(self, n: int, lease_s: float) -> builtins.list[Job]:
        now = self.clock()
        with self._tx() as db:
            rows = db.execute(
                "UPDATE jobs SET webhook_next_at = ? WHERE id IN (SELECT id FROM jobs WHERE "
                "webhook_state = 'pending' AND webhook_next_at <= ? ORDER BY webhook_next_at "
                "LIMIT ?) RETURNING *",
                (now + lease_s, now, n),
            ).fetchall()
        return sorted((from_fields(dict(r)) for r in rows), key=lambda j: j.id)

    def record_webhook(self, job_id: str, error: str | None, retry_in_s: float | None) -> None:
        retry = error is not None and retry_in_s is not None
        state = "delivered" if error is None else "pending" if retry else "failed"
        next_at = self.clock() + (retry_in_s or 0) if retry else None
        self._one(
            "UPDATE jobs SET webhook_state = ?, webhook_error = ?, webhook_next_at = ?, "
            "webhook_attempts = webhook_attempts + 1 WHERE id = ?",
            (state, error, next_at, job_id),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
