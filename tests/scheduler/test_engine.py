"""On a real engine: the nightly digits retrain runs on schedule in a fresh container.

The image is built by `dockyard build`; the scheduler runs here (on the host) with the Docker
launcher and an injected clock, so "02:00" comes when the test says. The retrain writes a new
model version to a mounted directory, and a running model service picks it up unrestarted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from rich.console import Console

from dockyard.runtime.scheduler import History, ProcessLauncher, RunState, Scheduler
from dockyard.runtime.scheduler.launcher import docker_argv
from dockyard.runtime.scheduler.metrics import ScheduleMetrics
from dockyard.spec import Spec, load_spec
from tests.scheduler.conftest import START
from tests.support.clock import FakeClock
from tests.support.ports import free_port

BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "schedule"
IMAGE = "dockyard-test/digits-retrain:engine"
pytestmark = [pytest.mark.engine, pytest.mark.slow]


def at(day: int, hh_mm: str) -> float:
    hour, minute = map(int, hh_mm.split(":"))
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Spec, Path]:
    from dockyard.cli.build import build_image
    from dockyard.image.engine import Engine

    try:
        engine = Engine.connect(timeout=30)
    except Exception:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing")
    root = tmp_path_factory.mktemp("engine") / "schedule"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "models"))
    build_image(root, BASE, IMAGE, Console(quiet=True))
    spec = load_spec(root)
    models = root.parent / "models"  # the volume the retrain writes and the service reads
    models.mkdir()
    os.chown(models, spec.build.uid, spec.build.uid)
    return root, spec, models


def scheduler(
    root: Path, spec: Spec, models: Path, clock: FakeClock, only: str | None = None
) -> Scheduler:
    """The spec's jobs (or just `only`), the models volume pointed at a host directory."""
    mount = [f"{models}:/models/digits"]
    chosen = [j for j in spec.schedules if only in (None, j.name)]
    jobs = [j.model_copy(update={"volumes": mount}) for j in chosen]
    launcher = ProcessLauncher(
        docker_argv(spec, IMAGE), root / "logs", root, dict(os.environ), docker_names=True
    )
    history = History(root / "history.sqlite3")
    return Scheduler(jobs, history, launcher, clock, ScheduleMetrics())


def settle(s: Scheduler, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while s.active:
        assert time.monotonic() < deadline, "the run never ended"
        s.reap(s.clock())
        time.sleep(0.2)


@pytest.fixture
def service(project: tuple[Path, Spec, Path]) -> Iterator[str]:
    """The model service container, reading the same models directory read-only."""
    root, spec, models = project
    if not (models / "current").exists():  # the service needs a first version to start
        scheduler(root, spec, models, FakeClock(START), only="retrain").run_now("retrain")
    port, name = free_port(), f"digits-retrain-api-{os.getpid()}"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "--read-only", "--tmpfs", "/tmp",
         "-p", f"127.0.0.1:{port}:8000", "-v", f"{models}:/models/digits:ro", IMAGE],
        check=True, capture_output=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url)
        yield url
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the model service at {url} never became ready")


def test_the_doctor_raises_no_alarm_on_the_image(project: tuple[Path, Spec, Path]) -> None:
    """Issue 11's image set: the image this module built (tests/doctor/image_set.py)."""
    from tests.doctor.image_set import image_alarms

    assert image_alarms(IMAGE) == {IMAGE: []}


def test_retrain_runs_on_schedule_in_a_fresh_container_and_an_overlap_is_skipped(
    project: tuple[Path, Spec, Path],
) -> None:
    root, spec, models = project
    clock = FakeClock(at(1, "01:59"))
    s = scheduler(root, spec, models, clock, only="retrain")
    assert s.tick() == []
    clock.now = at(1, "02:00")
    [started] = s.tick()
    assert started.job == "retrain" and started.scheduled_for == at(1, "02:00")
    clock.now = at(1, "02:01")  # asked for again while the first run still runs
    History(root / "history.sqlite3").trigger("retrain", clock())
    [skipped] = s.tick()
    assert skipped.state is RunState.SKIPPED and skipped.reason.startswith("overlap=skip")
    settle(s)
    run = s.history.get(started.id)
    assert (run.state, run.exit_code) == (RunState.SUCCEEDED, 0), run.log_tail
    version = (models / "current").read_text().strip()
    assert f"published {version}" in run.log_tail and (models / version / "model.joblib").exists()
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=dev.dockyard.schedule=retrain"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert left.strip() == ""  # each run's container exited and was removed


def predicted_version(url: str, pixels: list[float]) -> str:
    response = httpx.post(url + "/predict", json={"inputs": [pixels]}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["outputs"][0]["version"])


def test_the_service_picks_up_a_triggered_retrain_and_failures_are_counted(
    project: tuple[Path, Spec, Path], service: str
) -> None:
    root, spec, models = project
    clock = FakeClock(at(3, "12:30"))
    s = scheduler(root, spec, models, clock)
    pixels = [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0] * 8
    before = predicted_version(service, pixels)
    History(root / "history.sqlite3").trigger("retrain", clock())  # `dockyard runs --trigger`
    [manual] = s.tick()
    settle(s)
    assert s.history.get(manual.id).state is RunState.SUCCEEDED
    after = predicted_version(service, pixels)
    assert after != before and after == (models / "current").read_text().strip()
    strict = s.jobs["score"].model_copy(
        update={"command": ("python", "score.py", "--min-accuracy", "0.999")}
    )
    s.jobs["score"] = strict
    failed = s.fire(strict, "manual", None, clock())
    settle(s)
    record = s.history.get(failed.id)
    assert (record.state, record.exit_code) == (RunState.FAILED, 1)
    assert "(bar 0.999)" in record.log_tail
    text = generate_latest(s.metrics.registry).decode()
    assert 'dockyard_schedule_runs_total{job="score",outcome="failed"} 1.0' in text
