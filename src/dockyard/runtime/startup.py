"""Where a server's start-up time goes, phase by phase: in the log, /readyz, `run` and `test`.

Phases run back to back, each ending at a mark:
- `interpreter`: from the process's start to Dockyard's first import (the interpreter, `site`,
  `python -m` resolving the module);
- `dockyard`: Dockyard's own imports and reading the spec;
- `model_import`: importing the model's module (and whatever it imports: torch, sklearn);
- `server`: building the app and starting the HTTP server;
- `setup`: checking the artifacts and the model's `setup()`;
- `canary`: predicting the golden samples; the service is ready at its end.
`first_answer_s` is from the process's start to the first prediction answered after that.
The process's start comes from /proc (10 ms steps); without /proc the clock starts at Dockyard's
first import and `interpreter` is left out.
"""

from __future__ import annotations

import os
import time
from typing import Any

import dockyard

PHASES = ("interpreter", "dockyard", "model_import", "server", "setup", "canary")


def process_started() -> float | None:
    """Wall-clock time this process started, from its age in /proc (None without /proc)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            # field 22, counted after the command name, which may itself hold spaces
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - (up - ticks / os.sysconf("SC_CLK_TCK"))


class StartupClock:
    """Marks the end of each phase once; later marks of a phase that already ended are ignored."""

    def __init__(self, started: float | None = None, dockyard_imported: float | None = None):
        self.started = process_started() if started is None else started
        self.marks: dict[str, float] = {}
        if self.started is not None:
            self.marks["interpreter"] = dockyard_imported or dockyard.IMPORTED_AT
        self.origin = self.started if self.started is not None else dockyard.IMPORTED_AT
        self.first_answer: float | None = None

    def mark(self, phase: str) -> None:
        """The end of `phase` is now."""
        if phase not in PHASES:
            raise ValueError(f"unknown start-up phase {phase!r}; expected one of {PHASES}")
        self.marks.setdefault(phase, time.time())

    def answered(self) -> None:
        """A prediction was answered; the first one after readiness counts."""
        if self.first_answer is None and "canary" in self.marks:
            self.first_answer = time.time()

    def report(self) -> dict[str, Any]:
        """Seconds per finished phase, to readiness, and to the first answer (None: not yet)."""
        phases: dict[str, float] = {}
        previous = self.origin
        for phase in PHASES:
            if phase in self.marks:
                phases[phase] = round(max(0.0, self.marks[phase] - previous), 3)
                previous = self.marks[phase]
        ready = self.marks.get("canary")
        return {
            "phases_s": phases,
            "ready_s": None if ready is None else round(ready - self.origin, 3),
            "first_answer_s": (
                None if self.first_answer is None else round(self.first_answer - self.origin, 3)
            ),
        }


__all__ = ["PHASES", "StartupClock", "process_started"]
