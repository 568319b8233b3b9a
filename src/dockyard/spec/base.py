"""Shared pieces of the spec sections: the frozen base model and value types (sizes, cpus)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class Section(BaseModel):
    """Every spec table: immutable, and unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def parse_size(value: object) -> int:
    """Turn '512m', '2g', '1.5GiB' or a plain byte count into bytes."""
    if isinstance(value, bool):
        raise ValueError("a size like '512m' or '2g'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a non-negative size")
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise ValueError("a size like '512m' or '2g'")


def format_size(num_bytes: int) -> str:
    """Render bytes the way Docker and Compose accept them ('2g', '512m', '1000b')."""
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if num_bytes and num_bytes % factor == 0:
            return f"{num_bytes // factor}{unit}"
    return f"{num_bytes}b"


ByteSize = Annotated[int, BeforeValidator(parse_size)]
