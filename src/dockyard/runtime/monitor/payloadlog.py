"""Opt-in payload log: sampled inputs and outputs as JSON lines, redacted, rotated at a size cap.

Meant to feed offline analysis or a data lake (ship the rotated files). Redaction removes whole
fields by path (`input.email`, `output.score`, `input[3]`) before anything is serialised, so a
redacted value never reaches the disk. Rotation is the standard library's RotatingFileHandler.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.runtime.monitor.recorder import Record

_PART = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def parse_path(path: str) -> tuple[str, list[str | int]]:
    """'input.user.email' -> ('input', ['user', 'email']); 'input[3]' -> ('input', [3])."""
    root = path.split(".", 1)[0].split("[", 1)[0]
    steps: list[str | int] = [
        key if key else int(index) for key, index in _PART.findall(path[len(root) :])
    ]
    return root, steps


def redact(value: Any, steps: Sequence[str | int]) -> Any:
    """A copy of `value` without the field at `steps` (unchanged when absent)."""
    if not steps:
        return value
    head, rest = steps[0], steps[1:]
    if isinstance(value, dict) and isinstance(head, str) and head in value:
        if not rest:
            return {k: v for k, v in value.items() if k != head}
        return {**value, head: redact(value[head], rest)}
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        out = list(value)
        out[head] = "[redacted]" if not rest else redact(value[head], rest)
        return out
    return value


class PayloadLog:
    """A recorder sink writing one JSON line per prediction."""

    def __init__(
        self,
        path: Path | None,
        max_bytes: int,
        backups: int,
        redactions: Sequence[str],
        sample: float = 1.0,
        model: str = "",
        version: str = "",
    ) -> None:
        self.rules = [parse_path(p) for p in redactions]
        self.sample, self.model, self.version = sample, model, version
        handler: logging.Handler
        if path is None:
            handler = logging.StreamHandler(sys.stdout)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        handler.setFormatter(logging.Formatter("%(message)s"))
        self.handler = handler

    def line(self, record: Record) -> str:
        parts = {"input": record.input, "output": record.output}
        for root, steps in self.rules:
            if not steps:
                parts.pop(root, None)
            elif root in parts:
                parts[root] = redact(parts[root], steps)
        entry = {"id": record.id, "at": record.at, "model": self.model, "version": self.version}
        return json.dumps({**entry, **parts}, separators=(",", ":"))

    def write(self, records: Sequence[Record]) -> None:
        for record in records:
            if self.sample < 1.0 and random.random() >= self.sample:
                continue
            self.handler.emit(logging.makeLogRecord({"msg": self.line(record), "args": None}))

    def tick(self, now: float) -> None:
        self.handler.flush()

    def close(self) -> None:
        self.handler.close()
