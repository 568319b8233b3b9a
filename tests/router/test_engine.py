"""examples/router as containers on a real engine: `dockyard up` builds both versions' images,
renders the stack with the router in front, waits until healthy; driven over HTTP; then
`dockyard down --volumes`.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.router.test_shadow_health import metric
from tests.support.ports import free_port
from tests.support.waiting import eventually

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(900)]
BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")


def _engine_ready() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode == 0


if not _engine_ready():
    pytest.skip(f"needs a Docker engine with {BASE}", allow_module_level=True)


@dataclass(frozen=True)
class RouterStack:
    root: Path
    project: str
    url: str

    def container(self, service: str) -> str:
        labels = [
            f"com.docker.compose.project={self.project}",
            f"com.docker.compose.service={service}",
        ]
        filters = [part for label in labels for part in ("--filter", f"label={label}")]
        return _docker("ps", "-q", *filters).strip()


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def _dockyard(*args: str) -> str:
    env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE}
    argv = [sys.executable, "-m", "dockyard.cli.main", *args]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterStack]:
    port = free_port()
    root = tmp_path_factory.mktemp("router-engine") / "router"
    shutil.copytree(REPO / "examples" / "router", root)
    spec = root / "dockyard.toml"
    spec.write_text(spec.read_text().replace("[stack]\n", f"[stack]\napi_port = {port}\n"))
    running = RouterStack(root, f"dytest-router-{os.getpid()}", f"http://127.0.0.1:{port}")
    try:
        started = time.monotonic()
        _dockyard("up", str(root), "-p", running.project, "--timeout", "240")
        print(f"router stack built and healthy in {time.monotonic() - started:.1f}s")
        yield running
    finally:
        print(_dockyard("down", str(root), "--volumes", "-p", running.project))


def _rows() -> list[dict[str, object]]:
    text = (REPO / "examples" / "digits" / "eval.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def _drive(url: str, count: int) -> collections.Counter[str]:
    rows, seen = _rows(), collections.Counter[str]()
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(count):
            response = client.post("/predict", json={"inputs": [rows[i % len(rows)]["input"]]})
            assert response.status_code == 200, response.text
            assert set(response.json()["outputs"][0]) == {"label", "probability"}
            seen[response.headers["x-dockyard-version"]] += 1
    return seen


@pytest.fixture
def example_weights(stack: RouterStack) -> RouterStack:
    """The example's 90/10 split, whatever an earlier test left."""
    response = httpx.put(stack.url + "/admin/weights", json={"v1": 90, "v2": 10})
    assert response.status_code == 200, response.text
    return stack


def test_the_doctor_raises_no_alarm_on_either_version_image(stack: RouterStack) -> None:
    """Issue 11's image set: the images `dockyard up` just built (tests/doctor/image_set.py)."""
    from tests.doctor.image_set import image_alarms, project_images

    images = project_images(stack.project)
    assert len(images) == 2  # router (v1) and router/v2
    assert image_alarms(*images.values()) == {image: [] for image in images.values()}


def test_split_over_1000_requests_and_shadow_metrics(example_weights: RouterStack) -> None:
    stack = example_weights
    pair = {"primary": "v1", "shadow": "v2"}
    name = "dockyard_router_shadow_total"

    def compared() -> float:
        return sum(metric(stack.url, name, **pair, outcome=o) for o in ("agree", "disagree"))

    before = compared()  # other tests' traffic was shadowed too
    seen = _drive(stack.url, 1000)
    print(f"observed split over 1000 requests: {dict(seen)}")
    assert seen == {"v1": 900, "v2": 100}
    eventually(lambda: compared() - before == 900, 30)
    ratio = metric(stack.url, "dockyard_router_shadow_agreement_ratio", **pair)
    print(f"shadow agreement v2 vs v1 (labels): {ratio:.4f}")
    assert 0.9 < ratio < 1.0


def test_a_frozen_canary_is_removed_and_restored(example_weights: RouterStack) -> None:
    stack = example_weights
    canary = stack.container("model-v2")
    _docker("pause", canary)  # alive but unanswering: its readiness probe times out
    try:
        eventually(lambda: metric(stack.url, "dockyard_router_version_up", version="v2") == 0, 30)
        assert _drive(stack.url, 50) == {"v1": 50}
    finally:
        _docker("unpause", canary)
    eventually(lambda: metric(stack.url, "dockyard_router_version_up", version="v2") == 1, 30)
    assert _drive(stack.url, 100) == {"v1": 90, "v2": 10}


def test_admin_weights_change_the_running_stack(example_weights: RouterStack) -> None:
    stack = example_weights
    response = httpx.put(stack.url + "/admin/weights", json={"v1": 50, "v2": 50})
    assert response.status_code == 200, response.text
    assert _drive(stack.url, 100) == {"v1": 50, "v2": 50}
    assert httpx.put(stack.url + "/admin/weights", json={"v9": 1}).status_code == 422


def test_versions_are_not_published_and_run_hardened(stack: RouterStack) -> None:
    for service in ("model-v1", "model-v2", "api"):
        info = json.loads(_docker("inspect", stack.container(service)))[0]
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        assert info["Config"]["User"] not in ("", "0", "root", "0:0")
        published = [p for p in (info["NetworkSettings"]["Ports"] or {}).values() if p]
        assert bool(published) == (service == "api")
