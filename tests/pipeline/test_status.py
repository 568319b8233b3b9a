"""An item's status is decided by the furthest stage holding it."""

from __future__ import annotations

from dockyard.runtime.pipeline.status import ItemState, item_status
from dockyard.runtime.queue import Job, JobState


def job(state: JobState, result: object = None, error: str | None = None) -> Job:
    return Job(id="j", input={}, state=state, result=result, error=error, attempts=1)


def test_unknown_item_has_no_status() -> None:
    assert item_status("x", [("a", None), ("b", None)]) is None


def test_queued_only_before_the_first_stage_runs() -> None:
    assert item_status("x", [("a", job(JobState.QUEUED)), ("b", None)]).state is ItemState.QUEUED
    trace = [("a", job(JobState.DONE)), ("b", job(JobState.QUEUED))]
    status = item_status("x", trace)
    assert (status.state, status.stage) == (ItemState.RUNNING, "b")


def test_done_only_after_the_last_stage_with_its_output() -> None:
    partial = item_status("x", [("a", job(JobState.DONE, {"forwarded_to": "b"})), ("b", None)])
    assert partial.state is ItemState.RUNNING and partial.output is None
    trace = [("a", job(JobState.RUNNING)), ("b", job(JobState.DONE, 42))]
    status = item_status("x", trace)
    assert (status.state, status.output, status.stage) == (ItemState.DONE, 42, "b")


def test_dead_letter_names_the_stage_and_error() -> None:
    trace = [("a", job(JobState.DONE)), ("b", job(JobState.DEAD, error="boom")), ("c", None)]
    status = item_status("x", trace)
    assert (status.state, status.stage, status.error) == (ItemState.DEAD, "b", "boom")
    assert [s["name"] for s in status.public()["stages"]] == ["a", "b"]
