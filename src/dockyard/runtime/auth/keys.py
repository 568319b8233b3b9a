"""The keys file: one `KEY ID SCOPES [rps=N] [burst=N] [inflight=N]` per line, kept hashed.

Only SHA-256 digests of the keys stay in memory. A presented key is hashed and looked up by
its digest, so the time a lookup takes says nothing about how close a guess was; the final
comparison is `hmac.compare_digest` all the same.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dockyard.errors import SpecError, SpecProblem

log = logging.getLogger("dockyard.auth")

SCOPES: Final = frozenset({"predict", "jobs", "admin", "metrics"})
ANY: Final = "any"  # any valid key, whatever its scopes (the docs, the OpenAPI document)
MIN_KEY_LENGTH = 16
RECHECK_S = 1.0  # how often the file's identity is looked at (rotation delay, at most)


@dataclass(frozen=True)
class Key:
    """A caller: the id shown in logs and metrics, its scopes and its own limits (None: spec's)."""

    id: str
    scopes: frozenset[str]
    rps: float | None = None
    burst: int | None = None
    in_flight: int | None = None

    def allows(self, scope: str) -> bool:
        """`admin` holds every scope; `any` is held by every key."""
        return scope == ANY or scope in self.scopes or "admin" in self.scopes

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes


class KeyRing:
    """Digest -> key; `find` costs one SHA-256 and one dict lookup."""

    def __init__(self, keys: dict[bytes, Key]) -> None:
        self._keys = {digest: (digest, key) for digest, key in keys.items()}
        self._ids = {key.id: (digest, key) for digest, key in keys.items()}

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, presented: bytes) -> Key | None:
        digest = hashlib.sha256(presented).digest()
        found = self._keys.get(digest)
        # the dict matched on the digest already; compare again without early exit all the same
        if found is None or not hmac.compare_digest(found[0], digest):
            return None
        return found[1]

    def by_id(self, key_id: str) -> Key | None:
        found = self._ids.get(key_id)
        return None if found is None else found[1]

    def digest_of(self, key_id: str) -> bytes | None:
        """The stored digest of the key with this id (what signs its browser sessions)."""
        found = self._ids.get(key_id)
        return None if found is None else found[0]


def parse_keys(text: str, source: str) -> KeyRing:
    """Parse a keys file; every bad line is reported (file, line, what was expected)."""
    keys: dict[bytes, Key] = {}
    problems: list[SpecProblem] = []
    ids: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            secret, key = _parse_line(line)
        except ValueError as exc:
            problems.append(SpecProblem(source, f"line {number}", _redacted(line), str(exc)))
            continue
        if key.id in ids:
            problems.append(SpecProblem(source, f"line {number}", key.id, "a unique key id"))
        ids.add(key.id)
        keys[hashlib.sha256(secret.encode()).digest()] = key
    if problems:
        raise SpecError(problems)
    return KeyRing(keys)


def _parse_line(line: str) -> tuple[str, Key]:
    fields = line.split()
    if len(fields) < 3:
        raise ValueError("KEY ID SCOPES[,SCOPE...] [rps=N] [burst=N] [inflight=N]")
    secret, key_id, scope_list, *options = fields
    if len(secret) < MIN_KEY_LENGTH:
        raise ValueError(f"a key of at least {MIN_KEY_LENGTH} characters (`dockyard keygen`)")
    scopes = frozenset(s for s in scope_list.split(",") if s)
    if not scopes or not scopes <= SCOPES:
        raise ValueError(f"scopes among {', '.join(sorted(SCOPES))}, comma-separated")
    limits: dict[str, str] = dict(o.partition("=")[::2] for o in options)
    unknown = set(limits) - {"rps", "burst", "inflight"}
    if unknown:
        raise ValueError("options rps=N, burst=N, inflight=N")
    return secret, Key(
        key_id,
        scopes,
        rps=float(limits["rps"]) if "rps" in limits else None,
        burst=int(limits["burst"]) if "burst" in limits else None,
        in_flight=int(limits["inflight"]) if "inflight" in limits else None,
    )


def _redacted(line: str) -> str:
    """The line without its first field (the key itself never reaches an error message)."""
    rest = line.split(None, 1)[1:] or [""]
    return f"<key> {rest[0]}".strip()


class KeyFile:
    """A keys file re-read when it changes (replaced, rewritten, or a Kubernetes symlink swap)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity = self._stat()
        self._ring = parse_keys(self._read(), str(path))
        self._checked = time.monotonic()

    def current(self) -> KeyRing:
        """The keys in force; looks at the file at most once per RECHECK_S."""
        now = time.monotonic()
        if now - self._checked >= RECHECK_S:
            self._checked = now
            self._reload_if_changed()
        return self._ring

    def _reload_if_changed(self) -> None:
        identity = self._stat()
        if identity == self._identity:
            return
        try:
            self._ring = parse_keys(self._read(), str(self.path))
        except (SpecError, OSError) as exc:
            # keep serving with the keys in force: a half-written file must not lock everyone out
            log.error("keys file not reloaded", extra={"path": str(self.path), "error": str(exc)})
            return
        self._identity = identity
        log.info("keys reloaded", extra={"path": str(self.path), "keys": len(self._ring)})

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            problem = SpecProblem(str(self.path), "auth.keys_secret", "(unreadable)",
                                  f"a readable keys file ({exc.strerror})")  # fmt: skip
            raise SpecError([problem]) from None
