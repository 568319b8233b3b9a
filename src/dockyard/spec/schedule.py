"""Scheduled execution: jobs on a cron schedule, each run in a fresh container that exits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import Section


class ScheduledJob(Section):
    """A command run on a cron schedule."""

    name: str
    cron: str
    command: tuple[str, ...] = Field(description="Command run in the project's image")
    overlap: Literal["skip", "allow"] = "skip"
