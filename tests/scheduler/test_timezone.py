"""Schedules read in a time zone (croniter + zoneinfo), daylight-saving changes included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dockyard.spec.schedule import ScheduledJob


def fires(cron: str, timezone: str, after: datetime, n: int = 3) -> list[str]:
    job = ScheduledJob(name="j", cron=cron, timezone=timezone, command=("true",))
    times, moment = [], after
    for _ in range(n):
        moment = job.schedule.next_after(moment)
        times.append(moment.strftime("%m-%d %H:%M"))
    return times


def test_nine_o_clock_in_paris_follows_summer_time() -> None:
    winter = datetime(2026, 3, 27, 12, tzinfo=UTC)  # clocks go forward on Sunday 29 March
    assert fires("0 9 * * *", "Europe/Paris", winter) == [
        "03-28 08:00",
        "03-29 07:00",
        "03-30 07:00",
    ]


def test_utc_is_the_default() -> None:
    job = ScheduledJob(name="j", cron="0 9 * * *", command=("true",))
    assert job.timezone == "UTC"
    assert job.schedule.next_after(datetime(2026, 7, 1, tzinfo=UTC)).hour == 9


def test_a_time_skipped_when_clocks_go_forward_fires_after_the_gap() -> None:
    # 02:30 does not exist in Paris on 29 March 2026: it fires at 03:00 local (01:00 UTC).
    after = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert fires("30 2 * * *", "Europe/Paris", after, 2) == ["03-29 01:00", "03-30 00:30"]


def test_a_time_repeated_when_clocks_go_back_fires_once() -> None:
    # 02:30 happens twice in Paris on 25 October 2026 (00:30 and 01:30 UTC): one run.
    after = datetime(2026, 10, 24, 12, tzinfo=UTC)
    assert fires("30 2 * * *", "Europe/Paris", after, 2) == ["10-25 00:30", "10-26 01:30"]


def test_an_unknown_zone_is_a_clear_spec_error() -> None:
    with pytest.raises(ValidationError, match="an IANA time zone such as 'Europe/Paris'"):
        ScheduledJob(name="j", cron="0 9 * * *", timezone="Mars/Olympus", command=("true",))
