"""Weights changed at run time: validating a new set, and noticing when the weights file changes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Set
from pathlib import Path


class WeightsError(ValueError):
    """A weights update was refused; the message lists every problem found."""


def parse_weights(raw: object, known: Set[str], current: Mapping[str, float]) -> dict[str, float]:
    """Validate `{name: weight}`: known names, finite weights >= 0, and something left to serve.

    `current` is what the names not mentioned keep, so the check that some weight stays above zero
    judges the table as it would be after the update.
    """
    if not isinstance(raw, dict) or not raw:
        raise WeightsError('a JSON object of version weights, e.g. {"v1": 90, "v2": 10}')
    problems = [_problem(name, value, known) for name, value in raw.items()]
    if found := [p for p in problems if p]:
        raise WeightsError("; ".join(found))
    weights = {str(name): float(value) for name, value in raw.items()}
    if sum({**current, **weights}.values()) <= 0:
        raise WeightsError("at least one version with a weight above 0")
    return weights


def _problem(name: object, value: object, known: Set[str]) -> str | None:
    if name not in known:
        return f"unknown version {name!r} (known: {', '.join(sorted(known))})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name}: weight {value!r} is not a number"
    if not math.isfinite(value) or value < 0:
        return f"{name}: weight {value!r} must be a finite number >= 0"
    return None


class WeightsFile:
    """A JSON weights file, read again whenever its modification time or size changes.

    Polling the mtime (rather than inotify) works the same on bind mounts, ConfigMaps and every
    platform, at the cost of noticing a change up to one poll interval late.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None

    def changed(self) -> object | None:
        """The file's parsed JSON when it changed since the last call, else None.

        Raises WeightsError when the changed file cannot be read or parsed; a file that is absent
        counts as unchanged, so deleting it keeps the last weights.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._seen:
            return None
        self._seen = stamp
        try:
            parsed: object = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"{self.path}: {exc}") from exc
        return parsed
