"""On a real engine: the example pipeline as a Compose stack, one container per stage replica.

`dockyard up` builds every stage image from the stage's own project (so with its own
requirements), renders the stack with the pipeline's services and waits until all are healthy;
`dockyard down --volumes` removes it. A stage container killed with SIGKILL mid-burst loses
nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"
pytestmark = [pytest.mark.engine, pytest.mark.slow]
# Sentences the toy classifier was trained on, so the expected label is not in doubt.
GOOD = ["great service and friendly staff", "what a fantastic day", "the food was great"]
BAD = ["terrible service and rude staff", "what a horrible day", "the food was terrible"]


def _engine_ready() -> None:
    from dockyard.image.engine import Engine

    try:
        engine = Engine.connect(timeout=30)
    except Exception:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing (run scripts/provision-engine.sh)")


def _fast_leases(root: Path, port: int) -> None:
    """A short lease so a killed replica's items come back within seconds, and a free port."""
    text = (root / "dockyard.toml").read_text()
    text = text.replace('name = "classify"\n', 'name = "classify"\nlease_s = 3\n')
    text = text.replace("sync_timeout_s = 10\n", f"sync_timeout_s = 20\nport = {port}\n")
    (root / "dockyard.toml").write_text(text)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The example stack started by the real `dockyard up` (which builds every stage image)."""
    _engine_ready()
    root = tmp_path_factory.mktemp("engine") / "pipeline"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".dockyard"))
    port = free_port()
    _fast_leases(root, port)
    with (root / "dockyard.toml").open("a") as spec_file:
        spec_file.write(f"\n[stack]\napi_port = {free_port()}\n")
    name = f"textpipe-{port}"
    _dockyard("up", str(root), "-p", name, "--base-image", BASE)
    try:
        yield f"http://127.0.0.1:{port}", name, root
    finally:
        _dockyard("down", str(root), "--volumes", "-p", name)


def _dockyard(*args: str) -> None:
    argv = [sys.executable, "-m", "dockyard.cli.main", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def _image(root: Path, stage: str) -> str:
    from dockyard.spec import load_spec

    own = load_spec(root / "stages" / stage).project
    return f"{own.name}:{own.version}"


def test_the_doctor_raises_no_alarm_on_the_front_and_stage_images(
    stack: tuple[str, str, Path],
) -> None:
    """Issue 11's image set: the images `dockyard up` just built (tests/doctor/image_set.py)."""
    from dockyard.spec import load_spec
    from tests.doctor.image_set import image_alarms, project_images

    _, name, root = stack
    images = project_images(name)
    stages = [p.parent for p in (root / "stages").glob("*/dockyard.toml")]
    assert set(images) == {load_spec(p).project.name for p in [root, *stages]}
    assert image_alarms(*images.values()) == {image: [] for image in images.values()}


def test_each_stage_runs_in_its_own_image_and_scales_alone(stack: tuple[str, str, Path]) -> None:
    _, name, root = stack
    rows = _containers(name)
    assert sorted(rows.values()).count(_image(root, "classify")) == 2
    assert _image(root, "features") in rows.values()
    assert _image(root, "clean") in rows.values()


def test_classifies_through_every_container(stack: tuple[str, str, Path]) -> None:
    url, _, _ = stack
    happy = httpx.post(url + "/pipeline", json={"input": "Great service, wonderful!"}, timeout=30)
    sad = httpx.post(url + "/pipeline", json={"input": "awful, rude and slow"}, timeout=30)
    assert happy.status_code == 200, happy.text
    assert (happy.json()["output"]["label"], sad.json()["output"]["label"]) == (
        "positive", "negative",
    )  # fmt: skip
    job = httpx.post(url + "/pipeline/jobs", json={"input": "lovely"}, timeout=30).json()
    assert _wait_done(url, job["id"])["output"]["label"] == "positive"


def test_a_stage_container_killed_mid_burst_loses_nothing(stack: tuple[str, str, Path]) -> None:
    url, name, root = stack
    texts = [GOOD[i % len(GOOD)] if i % 2 else BAD[i % len(BAD)] for i in range(300)]
    ids = [
        httpx.post(url + "/pipeline/jobs", json={"input": t}, timeout=30).json()["id"]
        for t in texts
    ]
    victims = [c for c, image in _containers(name).items() if image == _image(root, "classify")]
    subprocess.run(["docker", "kill", "--signal", "KILL", victims[0]], check=True,
                   capture_output=True)  # fmt: skip
    labels = [_wait_done(url, item, timeout=120)["output"]["label"] for item in ids]
    assert labels == ["positive" if i % 2 else "negative" for i in range(300)]
    stats = httpx.get(url + "/pipeline/stats", timeout=30).json()
    assert stats["classify"]["dead"] == 0 and stats["classify"]["done"] >= 300
    metrics = httpx.get(url + "/pipeline/metrics", timeout=30).text
    assert 'dockyard_pipeline_queue{stage="features",state="done"}' in metrics


def _containers(project: str) -> dict[str, str]:
    """Running containers of the project: name -> image."""
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=com.docker.compose.project={project}",
         "--format", "{{.Names}} {{.Image}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(line.split(" ", 1) for line in out.splitlines())


def _wait_done(url: str, item: str, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, object] = httpx.get(f"{url}/pipeline/jobs/{item}", timeout=30).json()
        if body["state"] == "done":
            return body
        assert body["state"] in ("queued", "running"), body
        time.sleep(0.2)
    raise AssertionError(f"item {item} not done")
