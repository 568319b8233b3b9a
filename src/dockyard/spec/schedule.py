"""Scheduled execution: jobs on a cron schedule, each run in a fresh container that exits.

The cron dialect is the classic five fields (minute hour day-of-month month day-of-week) with
lists, ranges, steps, month and weekday names and the @hourly-style macros, read in the job's
`timezone` (UTC by default); croniter computes the fire times. As in Vixie cron and Kubernetes,
when both day fields are restricted a day matching either one fires. Across daylight-saving
changes: a time skipped when clocks go forward fires at the first minute after the gap, and a
time repeated when clocks go back fires once (the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from dockyard.spec.base import Section

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# The five fields, in order, with what each accepts (for error messages).
FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-7 or sun-sat"),
)
REPEATS_MAX = 24 * 60  # fire times skipped while a repeated (clocks back) hour passes


@dataclass(frozen=True)
class Cron:
    """A five-field expression read in a time zone."""

    expression: str
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> Cron:
        """Parse five fields or a macro; ValueError says which field is wrong and why."""
        from croniter import croniter  # on use: every process imports the spec, few schedule

        parts = MACROS.get(text.strip().lower(), text).split()
        if len(parts) != 5:
            raise ValueError(f"5 fields (minute hour day month weekday), got {len(parts)}")
        if not croniter.is_valid(" ".join(parts)):
            raise ValueError(_wrong_field(parts))
        return cls(" ".join(parts), zone(timezone))

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment`, in UTC (naive values are taken as UTC)."""
        from croniter import CroniterBadDateError, croniter

        local = _utc(moment).astimezone(self.zone)
        times = croniter(self.expression, local)
        try:
            for _ in range(REPEATS_MAX):
                due: datetime = times.get_next(datetime)
                # A wall-clock time not after `moment`'s comes round again when clocks go back.
                if due.replace(tzinfo=None) > local.replace(tzinfo=None):
                    return due.astimezone(UTC)
        except CroniterBadDateError:
            pass
        raise ValueError("a schedule that ever fires (no matching date found)")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError names what was wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"an IANA time zone such as 'Europe/Paris' or 'UTC', got {name!r}"
        ) from None


def _wrong_field(parts: list[str]) -> str:
    """Which field croniter refuses: each is tried alone with the others as `*`."""
    from croniter import croniter

    for i, (name, accepted) in enumerate(FIELDS):
        probe = ["*"] * 5
        probe[i] = parts[i]
        if not croniter.is_valid(" ".join(probe)):
            return f"{name}: values within {accepted}, lists, ranges and /steps, got {parts[i]!r}"
    return f"a valid cron expression, got {' '.join(parts)!r}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ScheduledJob(Section):
    """A command run on a cron schedule, each run in a fresh container of the project's image."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,40}$", description="Job name: lowercase letters, digits and '-'"
    )
    cron: str = Field(description="Five fields or a macro such as @hourly, in `timezone`")
    timezone: str = Field(default="UTC", description="IANA zone the cron is read in")
    command: tuple[str, ...] = Field(min_length=1, description="Run in the project's image")
    overlap: Literal["skip", "allow"] = Field(
        default="skip", description="A run due while the last one runs: skipped, or started too"
    )
    timeout_s: float | None = Field(default=None, gt=0, description="Then the run is killed")
    image: str | None = Field(default=None, description="Default: the project's image")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment of each run (on top of [env])"
    )
    volumes: tuple[str, ...] = Field(
        default=(), description="docker run -v values, e.g. 'models:/models' for new artifacts"
    )
    history_limit: int = Field(default=50, ge=1, description="Runs kept per job")
    log_lines: int = Field(default=40, ge=0, le=10_000, description="Log tail kept per run")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        Cron.parse(value).next_after(datetime(2000, 1, 1))  # "0 0 30 2 *" parses, never fires
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone(value)
        return value

    @property
    def schedule(self) -> Cron:
        """The parsed cron expression in its time zone."""
        return Cron.parse(self.cron, self.timezone)
