"""A movable clock and a scheduler over real child processes (the local launcher)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.scheduler import History, ProcessLauncher, Run, Scheduler
from dockyard.runtime.scheduler.launcher import local_argv
from dockyard.runtime.scheduler.metrics import ScheduleMetrics
from dockyard.spec.schedule import ScheduledJob
from tests.support.clock import FakeClock

START = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC).timestamp()


def job(name: str, code: str, cron: str = "* * * * *", **options: Any) -> ScheduledJob:
    """A job whose command is `python -c CODE`."""
    return ScheduledJob(name=name, cron=cron, command=(sys.executable, "-c", code), **options)


class Harness:
    """A scheduler with a fake clock whose runs are real processes."""

    def __init__(self, tmp: Path, jobs: list[ScheduledJob]) -> None:
        self.clock = FakeClock(START)
        self.history = History(tmp / "history.sqlite3")
        self.metrics = ScheduleMetrics()
        launcher = ProcessLauncher(local_argv, tmp / "logs", tmp, {"PATH": "/usr/bin:/bin"})
        self.scheduler = Scheduler(jobs, self.history, launcher, self.clock, self.metrics)

    def settle(self, timeout: float = 20.0) -> list[Run]:
        """Tick (without moving the clock) until no run is active; the runs recorded."""
        deadline, recorded = time.monotonic() + timeout, []
        while self.scheduler.active:
            assert time.monotonic() < deadline, "runs never ended"
            recorded += self.scheduler.reap(self.clock())
            time.sleep(0.02)
        return recorded


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[type[Harness]]:
    made: list[Harness] = []

    def make(jobs: list[ScheduledJob]) -> Harness:
        made.append(Harness(tmp_path, jobs))
        return made[-1]

    yield make  # type: ignore[misc]
    for h in made:
        for active in h.scheduler.active:
            active.handle.kill()
