"""`docker compose logs --timestamps` lines -> one readable line each, ids first.

The runtime logs one JSON object per line; this shows service, time, level, message, then the
request or job id and any other fields. Lines that are not JSON (a crash trace) pass through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# `api-1  | 2026-01-01T10:00:00.123456789Z {...}` (Compose pads the prefix to a common width).
_LINE = re.compile(r"^(?P<service>\S+)\s+\|\s?(?:(?P<ts>\d{4}-\d\d-\d\dT\S+)\s)?(?P<rest>.*)$")
_IDS = ("request_id", "job_id", "batch", "worker")
_HIDDEN = {"ts", "level", "message", "logger", "service"}
SERVICE_WIDTH = 14


@dataclass(frozen=True)
class LogLine:
    """One container log line, split into where it came from and what it says."""

    service: str
    ts: str
    text: str


def parse(line: str) -> LogLine | None:
    """A Compose log line, or None for Compose's own messages (`Attaching to ...`)."""
    match = _LINE.match(line)
    if not match:
        return None
    return LogLine(match["service"], match["ts"] or "", match["rest"])


def merged(lines: Iterable[str]) -> list[LogLine]:
    """Every service's lines in time order (Compose prints one service's backlog at a time)."""
    parsed = [p for p in map(parse, lines) if p is not None]
    return sorted(parsed, key=lambda p: p.ts)


def pretty(line: LogLine) -> str:
    """`service  hh:mm:ss.mmm level message request_id=... k=v`; raw text when not JSON."""
    fields = _json(line.text)
    clock = line.ts[11:23] if len(line.ts) >= 23 else line.ts
    head = f"{line.service:<{SERVICE_WIDTH}} {clock:<12}"
    if fields is None:
        return f"{head} {line.text}"
    level = str(fields.get("level", "")).upper()
    ids = [f"{k}={fields[k]}" for k in _IDS if k in fields]
    rest = [f"{k}={_short(v)}" for k, v in fields.items() if k not in _HIDDEN and k not in _IDS]
    return " ".join([head, f"{level:<7}", str(fields.get("message", "")), *ids, *rest]).rstrip()


def _json(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
