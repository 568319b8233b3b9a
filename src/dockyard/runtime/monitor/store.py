"""Where predictions wait for their true values: a bounded store with retention.

A store is four methods (`add`, `label`, `labelled`, `recent`) plus `prune`. `MemoryStore` is the
in-package fake; `SQLiteStore` (one WAL file, shared by the server's processes) is the default;
`RedisStore` serves a stack whose replicas must see each other's predictions.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Stored:
    """One recorded prediction (JSON text) and, once fed back, its true value (JSON text)."""

    id: str
    version: str
    output: str
    created: float
    truth: str | None = None
    labelled: float | None = None


class PredictionStore(Protocol):
    """Bounded storage of recent predictions, joined to ground truth by id."""

    def add(self, rows: Sequence[Stored]) -> None:
        """Keep these predictions (a newer one with the same id replaces the older)."""

    def label(self, id: str, truth: str, now: float) -> Stored | None:
        """Attach the true value; the labelled prediction, or None when unknown or expired."""

    def labelled(self, version: str, limit: int) -> list[Stored]:
        """The most recently labelled predictions of a version, newest first."""

    def recent(self, version: str, limit: int) -> list[Stored]:
        """The most recent predictions of a version, labelled or not, newest first."""

    def versions(self) -> list[str]:
        """Model versions with stored predictions."""

    def prune(self, now: float) -> int:
        """Drop predictions past retention or beyond the bound; how many went."""

    def close(self) -> None: ...


class MemoryStore:
    """A dict in insertion order: for tests and single-process serving without a disk."""

    def __init__(self, retention_s: float, max_rows: int) -> None:
        self.retention_s, self.max_rows = retention_s, max_rows
        self.rows: OrderedDict[str, Stored] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, rows: Sequence[Stored]) -> None:
        with self.lock:
            for row in rows:
                self.rows.pop(row.id, None)
                self.rows[row.id] = row
            while len(self.rows) > self.max_rows:
                self.rows.popitem(last=False)

    def label(self, id: str, truth: str, now: float) -> Stored | None:
        with self.lock:
            row = self.rows.get(id)
            if row is None or row.created < now - self.retention_s:
                return None
            self.rows[id] = replace(row, truth=truth, labelled=now)
            return self.rows[id]

    def labelled(self, version: str, limit: int) -> list[Stored]:
        with self.lock:
            rows = [r for r in self.rows.values() if r.version == version and r.labelled]
        return sorted(rows, key=lambda r: r.labelled or 0, reverse=True)[:limit]

    def recent(self, version: str, limit: int) -> list[Stored]:
        with self.lock:
            rows = [r for r in reversed(self.rows.values()) if r.version == version]
        return rows[:limit]

    def versions(self) -> list[str]:
        with self.lock:
            return sorted({r.version for r in self.rows.values()})

    def prune(self, now: float) -> int:
        with self.lock:
            old = [k for k, r in self.rows.items() if r.created < now - self.retention_s]
            for key in old:
                del self.rows[key]
        return len(old)

    def close(self) -> None:
        pass


_COLUMNS = "id, version, output, created, truth, labelled"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS predictions (id TEXT PRIMARY KEY, version TEXT NOT NULL,"
    " output TEXT NOT NULL, created REAL NOT NULL, truth TEXT, labelled REAL)",
    # Partial: new (unlabelled) predictions never touch it, so inserts stay cheap.
    "CREATE INDEX IF NOT EXISTS predictions_labelled ON predictions(version, labelled)"
    " WHERE labelled IS NOT NULL",
)


class SQLiteStore:
    """One WAL-mode file; each thread gets its own connection (the recorder writes, routes read)."""

    def __init__(self, path: Path, retention_s: float, max_rows: int) -> None:
        self.path, self.retention_s, self.max_rows = path, retention_s, max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self.local = threading.local()
        self.db().execute("PRAGMA journal_mode=WAL")
        with self.transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable enough for metrics
            self.local.conn = conn
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction (autocommit mode would commit, and sync, every row)."""
        db = self.db()
        db.execute("BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def add(self, rows: Sequence[Stored]) -> None:
        with self.transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO predictions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                [(r.id, r.version, r.output, r.created, r.truth, r.labelled) for r in rows],
            )

    def label(self, id: str, truth: str, now: float) -> Stored | None:
        row = (
            self.db()
            .execute(
                "UPDATE predictions SET truth = ?, labelled = ? WHERE id = ? AND created >= ?"
                f" RETURNING {_COLUMNS}",
                (truth, now, id, now - self.retention_s),
            )
            .fetchone()
        )
        return Stored(*row) if row else None

    def labelled(self, version: str, limit: int) -> list[Stored]:
        return self._select(
            "WHERE version = ? AND labelled IS NOT NULL ORDER BY labelled DESC LIMIT ?",
            version,
            limit,
        )

    def recent(self, version: str, limit: int) -> list[Stored]:
        # rowid order is insertion order: no index on `created` to update on the write path.
        return self._select("WHERE version = ? ORDER BY rowid DESC LIMIT ?", version, limit)

    def _select(self, where: str, *args: Any) -> list[Stored]:
        rows = self.db().execute(f"SELECT {_COLUMNS} FROM predictions {where}", args).fetchall()
        return [Stored(*row) for row in rows]

    def versions(self) -> list[str]:
        rows = self.db().execute("SELECT DISTINCT version FROM predictions ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    def prune(self, now: float) -> int:
        with self.transaction() as db:
            old = db.execute(
                "DELETE FROM predictions WHERE created < ?", (now - self.retention_s,)
            ).rowcount
            over = db.execute(
                "DELETE FROM predictions WHERE rowid IN (SELECT rowid FROM predictions"
                " ORDER BY rowid DESC LIMIT -1 OFFSET ?)",
                (self.max_rows,),
            ).rowcount
        return int(old + over)

    def close(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
            self.local.conn = None


class RedisStore:
    """A hash per prediction (expiring at retention) and two sorted indexes per version."""

    def __init__(self, url: str, namespace: str, retention_s: float, max_rows: int) -> None:
        import redis  # loaded on use: only stacks with Redis pay for the import

        self.client: Any = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = f"dockyard:predictions:{namespace}"
        self.retention_s, self.max_rows = retention_s, max_rows

    def _key(self, id: str) -> str:
        return f"{self.prefix}:row:{id}"

    def add(self, rows: Sequence[Stored]) -> None:
        pipe = self.client.pipeline(transaction=False)
        ttl = max(1, round(self.retention_s))
        for r in rows:
            fields = {"version": r.version, "output": r.output, "created": r.created}
            pipe.hset(self._key(r.id), mapping=fields)
            pipe.expire(self._key(r.id), ttl)
            pipe.zadd(f"{self.prefix}:created:{r.version}", {r.id: r.created})
            pipe.sadd(f"{self.prefix}:versions", r.version)
        pipe.execute()

    def label(self, id: str, truth: str, now: float) -> Stored | None:
        key = self._key(id)
        found = self.client.hgetall(key)
        if not found or float(found["created"]) < now - self.retention_s:
            return None
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping={"truth": truth, "labelled": now})
        pipe.zadd(f"{self.prefix}:labelled:{found['version']}", {id: now})
        pipe.execute()
        return _from_hash(id, {**found, "truth": truth, "labelled": now})

    def labelled(self, version: str, limit: int) -> list[Stored]:
        return self._rows(f"{self.prefix}:labelled:{version}", limit)

    def recent(self, version: str, limit: int) -> list[Stored]:
        return self._rows(f"{self.prefix}:created:{version}", limit)

    def _rows(self, index: str, limit: int) -> list[Stored]:
        ids = self.client.zrevrange(index, 0, limit - 1)
        pipe = self.client.pipeline(transaction=False)
        for id in ids:
            pipe.hgetall(self._key(id))
        return [_from_hash(i, h) for i, h in zip(ids, pipe.execute(), strict=True) if h]

    def versions(self) -> list[str]:
        return sorted(self.client.smembers(f"{self.prefix}:versions"))

    def prune(self, now: float) -> int:
        gone = 0
        for version in self.versions():
            for kind in ("created", "labelled"):
                index = f"{self.prefix}:{kind}:{version}"
                gone += self.client.zremrangebyscore(index, "-inf", now - self.retention_s)
                if kind == "created":
                    gone += self.client.zremrangebyrank(index, 0, -self.max_rows - 1)
        return gone

    def close(self) -> None:
        self.client.close()


def _from_hash(id: str, h: dict[str, Any]) -> Stored:
    labelled = h.get("labelled")
    return Stored(
        id,
        h["version"],
        h["output"],
        float(h["created"]),
        h.get("truth"),
        float(labelled) if labelled is not None else None,
    )


def open_store(
    kind: str, where: str, retention_s: float, max_rows: int, namespace: str = "default"
) -> PredictionStore:
    """The store named by the spec: `where` is a file for sqlite, a URL for redis."""
    if kind == "memory":
        return MemoryStore(retention_s, max_rows)
    if kind == "redis":
        return RedisStore(where, namespace, retention_s, max_rows)
    return SQLiteStore(Path(where), retention_s, max_rows)


def now() -> float:
    """Wall-clock seconds: label delays are measured across processes and restarts."""
    return time.time()
