"""The five-field cron parser and its next fire time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dockyard.spec.schedule import Cron, ScheduledJob


def nxt(expr: str, after: str) -> str:
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    return Cron.parse(expr).next_after(moment).strftime("%Y-%m-%d %H:%M %a")


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("* * * * *", "2026-03-01 10:00:30", "2026-03-01 10:01 Sun"),
        ("*/15 * * * *", "2026-03-01 10:14:59", "2026-03-01 10:15 Sun"),
        ("5 * * * *", "2026-03-01 10:05:00", "2026-03-01 11:05 Sun"),
        ("0 2 * * *", "2026-03-01 02:00:00", "2026-03-02 02:00 Mon"),
        ("@hourly", "2026-12-31 23:30", "2027-01-01 00:00 Fri"),
        ("@daily", "2026-02-28 12:00", "2026-03-01 00:00 Sun"),
        ("0 9-17/4 * * mon-fri", "2026-03-06 17:01", "2026-03-09 09:00 Mon"),
        ("30 6 1,15 * *", "2026-03-02 00:00", "2026-03-15 06:30 Sun"),
        ("0 0 * jun sun", "2026-01-01 00:00", "2026-06-07 00:00 Sun"),
        ("0 0 * * 7", "2026-03-02 00:00", "2026-03-08 00:00 Sun"),  # 7 is Sunday too
        ("0 0 13 * fri", "2026-01-01 00:00", "2026-01-02 00:00 Fri"),  # either day field
        ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00 Tue"),
        ("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59 Fri"),
    ],
)
def test_next_fire_time(expr: str, after: str, expected: str) -> None:
    assert nxt(expr, after) == expected


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "minute: values within 0-59"),
        ("* 24 * * *", "hour: values within 0-23"),
        ("* * 0 * *", "day of month: values within 1-31"),
        ("* * * 13 *", "month: values within 1-12"),
        ("* * * * 8", "day of week: values within 0-7"),
        ("*/0 * * * *", "minute: .* got '\\*/0'"),
        ("x * * * *", "minute: .* got 'x'"),
    ],
)
def test_bad_expressions_say_which_field(expr: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Cron.parse(expr)


def test_spec_refuses_a_schedule_that_never_fires() -> None:
    with pytest.raises(ValidationError, match="ever fires"):
        ScheduledJob(name="never", cron="0 0 30 2 *", command=("true",))


def test_timezone_aware_times_are_converted_to_utc() -> None:
    from datetime import timedelta, timezone

    paris = datetime(2026, 3, 1, 3, 30, tzinfo=timezone(timedelta(hours=1)))
    # 03:30 in Paris is 02:30 UTC: 03:00 UTC the same day is next
    assert Cron.parse("0 3 * * *").next_after(paris) == datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
