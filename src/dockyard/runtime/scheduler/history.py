"""The history of scheduled runs, and trigger-now requests, in one SQLite file.

The scheduler writes it; `dockyard runs` reads it and adds triggers from another process
(WAL mode, so readers never block the scheduler).
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, trigger TEXT NOT NULL,
        state TEXT NOT NULL, scheduled_for REAL, started_at REAL NOT NULL, ended_at REAL,
        exit_code INTEGER, log_tail TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS runs_job ON runs(job, id)",
    """CREATE TABLE IF NOT EXISTS triggers (
        id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, requested_at REAL NOT NULL)""",
)
_COLUMNS = (
    "id, job, trigger, state, scheduled_for, started_at, ended_at, exit_code, log_tail, reason"
)


class RunState(enum.Enum):
    """A run's outcome; RUNNING until its process exits (LOST if the scheduler died meanwhile)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    LOST = "lost"


@dataclass(frozen=True)
class Run:
    """One row of the history."""

    id: int
    job: str
    trigger: str  # "schedule" or "manual"
    state: RunState
    scheduled_for: float | None
    started_at: float
    ended_at: float | None = None
    exit_code: int | None = None
    log_tail: str = ""
    reason: str = ""

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


class History:
    """Runs and triggers; every write is one short transaction."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def start(
        self, job: str, trigger: str, now: float, scheduled_for: float | None,
        state: RunState = RunState.RUNNING, reason: str = "",
    ) -> Run:  # fmt: skip
        """Record a run that starts now (or, with SKIPPED, one that was not started)."""
        ended = now if state is RunState.SKIPPED else None
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (job, trigger, state, scheduled_for, started_at, ended_at,"
                " reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job, trigger, state.value, scheduled_for, now, ended, reason),
            )
        return self.get(int(cursor.lastrowid or 0))

    def finish(self, run_id: int, now: float, exit_code: int, log_tail: str, reason: str) -> Run:
        """Record the end of a run: its exit code decides succeeded or failed."""
        state = RunState.SUCCEEDED if exit_code == 0 else RunState.FAILED
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET state = ?, ended_at = ?, exit_code = ?, log_tail = ?, reason = ?"
                " WHERE id = ?",
                (state.value, now, exit_code, log_tail, reason, run_id),
            )
        return self.get(run_id)

    def mark_lost(self, now: float) -> int:
        """Runs left RUNNING by a scheduler that died: nobody will see them end."""
        with self._tx() as db:
            return db.execute(
                "UPDATE runs SET state = 'lost', ended_at = ?, reason = 'the scheduler stopped "
                "while it ran' WHERE state = 'running'",
                (now,),
            ).rowcount

    def prune(self, job: str, keep: int) -> int:
        """Keep the newest `keep` runs of `job` (successfulJobsHistoryLimit's role)."""
        with self._tx() as db:
            return db.execute(
                "DELETE FROM runs WHERE job = ? AND state != 'running' AND id NOT IN "
                "(SELECT id FROM runs WHERE job = ? ORDER BY id DESC LIMIT ?)",
                (job, job, keep),
            ).rowcount

    def get(self, run_id: int) -> Run:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,))
            return _run(row.fetchone())

    def runs(self, job: str | None = None, limit: int = 50) -> list[Run]:
        """Newest first."""
        where, params = ("WHERE job = ?", (job,)) if job else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM runs {where} ORDER BY id DESC LIMIT ?", (*params, limit)
            ).fetchall()
        return [_run(r) for r in rows]

    def trigger(self, job: str, now: float) -> int:
        """Ask the running scheduler to start `job` now; returns the request's id."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO triggers (job, requested_at) VALUES (?, ?)", (job, now)
            )
        return int(cursor.lastrowid or 0)

    def take_triggers(self) -> list[str]:
        """The jobs asked for since the last call, oldest first (each request taken once)."""
        with self._tx() as db:
            rows = db.execute("SELECT id, job FROM triggers ORDER BY id").fetchall()
            db.execute("DELETE FROM triggers WHERE id <= ?", (rows[-1][0] if rows else 0,))
        return [job for _, job in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _run(row: Any) -> Run:
    if row is None:
        raise KeyError("no such run")
    rid, job, trigger, state, scheduled, started, ended, code, tail, reason = row
    return Run(
        id=int(rid),
        job=str(job),
        trigger=str(trigger),
        state=RunState(state),
        scheduled_for=None if scheduled is None else float(scheduled),
        started_at=float(started),
        ended_at=None if ended is None else float(ended),
        exit_code=None if code is None else int(code),
        log_tail=str(tail),
        reason=str(reason),
    )
