"""A wall clock that only moves when the test says so (injected into batcher, queue, scheduler)."""

from __future__ import annotations

from datetime import UTC, datetime


class FakeClock:
    """Callable like `time.time`; `advance` and `to` move it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def to(self, hh_mm: str) -> None:
        """Jump to HH:MM (UTC) on the clock's current day."""
        hour, minute = map(int, hh_mm.split(":"))
        day = datetime.fromtimestamp(self.now, UTC)
        self.now = day.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()
