"""A baseline computed from the project's data is made after readiness, off the cold start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dockyard.runtime.monitor import service as monitor_service
from tests.monitoring.conftest import digits
from tests.support.asgi import in_process
from tests.support.waiting import eventually


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_the_baseline_is_made_on_the_first_records_not_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[float] = []
    real = monitor_service.baseline_for

    def counted(*args: Any) -> Any:
        made.append(time.monotonic())
        return real(*args)

    monkeypatch.setattr(monitor_service, "baseline_for", counted)
    root = digits(tmp_path / "digits", "[monitoring.drift]\nwindow = 10\nmax_per_s = 100000\n")
    with in_process(root) as client:
        assert made == [], "the baseline was computed on the way to readiness"
        rows = [[float(v % 17) for v in range(64)]] * 20
        assert client.post("/predict", json={"inputs": rows}).status_code == 200
        eventually(lambda: "dockyard_input_drift_psi{" in client.get("/metrics").text, 15,
                   what="drift scores")  # fmt: skip
    assert len(made) == 1
