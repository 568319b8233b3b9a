"""Kubernetes: a schedule's CronJob fires in the schedule's own time zone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.spec import load_spec
from tests.fixtures.projects import make_project


@pytest.mark.parametrize(
    ("timezone", "rendered"), [("Europe/Paris", "Europe/Paris"), (None, "Etc/UTC")]
)
def test_the_cronjob_names_the_schedules_time_zone(
    tmp_path: Path, timezone: str | None, rendered: str
) -> None:
    schedule: dict[str, Any] = {"name": "nightly", "cron": "0 3 * * *", "command": ["true"]}
    if timezone:
        schedule["timezone"] = timezone
    root = make_project(tmp_path, "echo", schedules=[schedule])
    [cronjob] = [m for m in render_kubernetes(load_spec(root), "r/p:1") if m["kind"] == "CronJob"]
    assert (cronjob["spec"]["schedule"], cronjob["spec"]["timeZone"]) == ("0 3 * * *", rendered)
