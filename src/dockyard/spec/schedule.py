"""Scheduled execution: jobs on a cron schedule, each run in a fresh container that exits.

The cron dialect is the classic five fields (minute hour day-of-month month day-of-week, UTC)
with lists, ranges, steps, month and weekday names and the @hourly-style macros. As in Vixie
cron and Kubernetes, when both day fields are restricted a day matching either one fires.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

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
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
# (name, lowest, highest, names) of the five fields, in order.
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
SEARCH_YEARS = 8  # a Feb 29 comes within 8 years (2100 skips one); a Feb 30 never does


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field, and which day fields were `*`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday (7 is folded into 0)
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse five fields or a macro; ValueError says which field is wrong and why."""
        parts = MACROS.get(text.strip().lower(), text).split()
        if len(parts) != 5:
            raise ValueError(f"5 fields (minute hour day month weekday), got {len(parts)}")
        sets = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*")

    def matches_day(self, moment: datetime) -> bool:
        """Day-of-month and day-of-week, with cron's either-one rule when both are restricted."""
        in_month = moment.day in self.days
        in_week = (moment.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after `moment` (naive values are taken as UTC)."""
        t = _utc(moment).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=366 * SEARCH_YEARS)
        while t < limit:
            if t.month not in self.months:
                t = _first_of_next_month(t)
            elif not self.matches_day(t):
                t = (t + timedelta(days=1)).replace(hour=0, minute=0)
            elif t.hour not in self.hours:
                t = (t + timedelta(hours=1)).replace(minute=0)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ValueError("a schedule that ever fires (no matching date in 8 years)")


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item(item, name, low, high, names))
    return frozenset(values)


def _item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> range:
    """One list item: `*`, `N`, `A-B`, each optionally `/STEP`."""
    span, _, step_text = item.partition("/")
    step = _number(step_text, name, names) if step_text else 1
    if step < 1:
        raise ValueError(f"{name}: a step of at least 1, got {item!r}")
    if span == "*":
        first, last = low, high
    elif "-" in span:
        a, b = span.split("-", 1)
        first, last = _number(a, name, names), _number(b, name, names)
    else:
        first = _number(span, name, names)
        last = high if step_text else first
    if not low <= first <= last <= high:
        raise ValueError(f"{name}: values within {low}-{high} (low before high), got {item!r}")
    return range(first, last + 1, step)


def _number(text: str, name: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ValueError(f"{name}: a number or name, got {text!r}")
    return int(text)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _first_of_next_month(t: datetime) -> datetime:
    year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return t.replace(year=year, month=month, day=1, hour=0, minute=0)


class ScheduledJob(Section):
    """A command run on a cron schedule, each run in a fresh container of the project's image."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,40}$", description="Job name: lowercase letters, digits and '-'"
    )
    cron: str = Field(description="Five fields or a macro such as @hourly; UTC")
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

    @property
    def schedule(self) -> Cron:
        """The parsed cron expression."""
        return Cron.parse(self.cron)
