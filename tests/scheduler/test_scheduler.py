"""The scheduler over real child processes, its time moved by an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import generate_latest

from dockyard.runtime.scheduler import History, RunState
from tests.scheduler.conftest import Harness, job

Make = Callable[[list], Harness]  # type: ignore[type-arg]


def at(hh_mm: str) -> float:
    hour, minute = map(int, hh_mm.split(":"))
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC).timestamp()


def test_runs_on_schedule_and_exits_with_its_record(harness: Make) -> None:
    h = harness([job("hello", "print('line 1'); print('hello from the run')", "*/5 * * * *")])
    assert h.scheduler.tick() == []  # 12:00:30: not due yet
    h.clock.to("12:04")
    assert h.scheduler.tick() == []
    h.clock.to("12:05")
    [started] = h.scheduler.tick()
    assert (started.state, started.scheduled_for, started.trigger) == (
        RunState.RUNNING, at("12:05"), "schedule",
    )  # fmt: skip
    [run] = h.settle()
    assert (run.state, run.exit_code) == (RunState.SUCCEEDED, 0)
    assert run.log_tail == "line 1\nhello from the run"
    assert run.started_at == at("12:05") and run.ended_at is not None
    assert h.scheduler.next_at["hello"] == at("12:10")
    assert h.history.runs("hello") == [run]


def test_an_overlapping_run_is_skipped_under_skip(harness: Make) -> None:
    h = harness([job("slow", "import time; time.sleep(30)", overlap="skip")])
    h.clock.to("12:01")
    [first] = h.scheduler.tick()
    h.clock.to("12:02")
    [skipped] = h.scheduler.tick()
    assert skipped.state is RunState.SKIPPED
    assert skipped.reason == f"overlap=skip: run {first.id} was still running"
    assert [r.state for r in h.history.runs("slow")] == [RunState.SKIPPED, RunState.RUNNING]
    assert len(h.scheduler.active) == 1
    text = generate_latest(h.metrics.registry).decode()
    assert 'dockyard_schedule_runs_total{job="slow",outcome="skipped"} 1.0' in text


def test_allow_starts_a_second_run_alongside(harness: Make) -> None:
    h = harness([job("both", "import time; time.sleep(30)", overlap="allow")])
    h.clock.to("12:01")
    h.scheduler.tick()
    h.clock.to("12:02")
    [second] = h.scheduler.tick()
    assert second.state is RunState.RUNNING and len(h.scheduler.active) == 2


def test_failures_are_recorded_and_counted(harness: Make) -> None:
    h = harness([job("broken", "import sys; print('bad input'); sys.exit(3)")])
    h.clock.to("12:01")
    h.scheduler.tick()
    [run] = h.settle()
    assert (run.state, run.exit_code, run.log_tail) == (RunState.FAILED, 3, "bad input")
    text = generate_latest(h.metrics.registry).decode()
    assert 'dockyard_schedule_runs_total{job="broken",outcome="failed"} 1.0' in text
    assert 'dockyard_schedule_last_success_timestamp_seconds{job="broken"}' not in text


def test_a_run_past_its_timeout_is_killed(harness: Make) -> None:
    h = harness([job("stuck", "import time; time.sleep(60)", timeout_s=5)])
    h.clock.to("12:01")
    h.scheduler.tick()
    h.clock.now += 4
    assert h.scheduler.reap(h.clock()) == []
    h.clock.now += 2
    [run] = h.scheduler.reap(h.clock())
    assert run.state is RunState.FAILED and run.reason == "killed after timeout_s=5"
    assert run.exit_code == -9


def test_a_command_that_cannot_start_is_a_failed_run(harness: Make) -> None:
    from dockyard.spec.schedule import ScheduledJob

    missing = ScheduledJob(name="ghost", cron="* * * * *", command=("/no/such/program",))
    h = harness([missing])
    h.clock.to("12:01")
    [run] = h.scheduler.tick()
    assert (run.state, run.exit_code) == (RunState.FAILED, 127)
    assert run.reason.startswith("could not start")


def test_trigger_now_from_another_connection(harness: Make, tmp_path: Path) -> None:
    h = harness([job("nightly", "print('manual')", "0 2 * * *")])
    other = History(tmp_path / "history.sqlite3")  # what `dockyard runs --trigger` opens
    other.trigger("nightly", h.clock())
    other.trigger("nope", h.clock())
    [started] = h.scheduler.tick()
    assert (started.trigger, started.scheduled_for) == ("manual", None)
    [run] = h.settle()
    assert run.log_tail == "manual" and other.runs("nightly")[0].state is RunState.SUCCEEDED
    assert h.scheduler.tick() == []  # each request is taken once


def test_missed_fire_times_run_once_not_once_each(harness: Make) -> None:
    h = harness([job("often", "pass")])
    h.clock.to("12:30")
    assert len(h.scheduler.tick()) == 1
    assert h.scheduler.next_at["often"] == at("12:31")


def test_history_keeps_the_newest_runs_per_job(harness: Make) -> None:
    h = harness([job("keep2", "pass", history_limit=2)])
    for minute in ("12:01", "12:02", "12:03"):
        h.clock.to(minute)
        h.scheduler.tick()
        h.settle()
    assert [r.scheduled_for for r in h.history.runs("keep2")] == [at("12:03"), at("12:02")]


def test_runs_left_running_by_a_dead_scheduler_are_marked_lost(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    history.start("x", "schedule", 1.0, 1.0)
    assert history.mark_lost(2.0) == 1
    assert history.runs()[0].state is RunState.LOST
