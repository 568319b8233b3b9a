"""The stack on a real single-node swarm: up healthy, a rolling update under load with zero failed
requests, a broken update that rolls itself back, and three workers draining a queue.

This engine's kernel has no IPVS, so the spec's test environment publishes the front with
`publish_mode = "host"` and resolves services with `endpoint_mode = "dnsrr"` (docs/swarm.md).
One image is built for the module; the new and the broken digests are thin layers on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from dockyard.cli.build import build_image
from dockyard.deploy import releases
from tests.ship.registry import LocalRegistry
from tests.stack.redis_image import ensure_redis_image
from tests.support.cli import cli as _cli
from tests.support.ports import free_port

FIXTURE = Path(__file__).parents[1] / "image" / "fixtures" / "linear"
BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(1500)]
ROW = [1.0, 2.0, 3.0]  # the linear model answers 4.125


def _docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    assert not check or done.returncode == 0, done.stderr
    return done.stdout


if (
    not shutil.which("docker")
    or subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode
):
    pytest.skip(f"needs a Docker engine with {BASE}", allow_module_level=True)


@pytest.fixture(scope="module")
def swarm() -> Iterator[None]:
    """A swarm manager: this engine's own swarm, or one made here and left again afterwards."""
    state = _docker("info", "--format", "{{.Swarm.LocalNodeState}}").strip()
    made = state == "inactive"
    if made:
        _docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    yield
    if made:
        _docker("swarm", "leave", "--force", check=False)


@dataclass(frozen=True)
class Deployed:
    root: Path
    stack: str
    url: str
    key: str
    images: dict[str, str]  # v1, v2, broken -> registry reference by digest

    def predict(self, client: httpx.Client) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return client.post(f"{self.url}/predict", json={"inputs": [ROW]}, headers=headers)

    def image(self, service: str = "api") -> str:
        fmt = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        return _docker("service", "inspect", f"{self.stack}_{service}", "--format", fmt).strip()


def _project(tmp: Path, port: int) -> Path:
    root = tmp / "linear"
    shutil.copytree(FIXTURE, root)
    text = (root / "dockyard.toml").read_text()
    text = text.replace('name = "linear-fixture"', f'name = "swarm-{uuid.uuid4().hex[:6]}"')
    text = text.replace("latency_p95_ms = 500", "latency_p95_ms = 20000")  # not a benchmark
    text += f"""
[build]
healthcheck_interval_s = 1
healthcheck_start_period_s = 15

[worker]
enabled = true
backend = "redis"
redis_url = "redis://redis:6379/0"
replicas = 1
lease_s = 10
heartbeat_s = 2

[stack]
api_replicas = 2
api_port = {port}
redis_image = "{ensure_redis_image()}"

# This machine: no IPVS, so no routing mesh and no virtual IPs (docs/swarm.md).
[environments.test]
swarm = {{ publish_mode = "host", endpoint_mode = "dnsrr", monitor_s = 3, update_delay_s = 1 }}
"""
    (root / "dockyard.toml").write_text(text)
    # redis-py needs async-timeout below Python 3.11.3 (Debian bookworm ships 3.11.2); the
    # lock resolves for "3.11" and leaves it out, so it is named (as examples/stack/redis does).
    with (root / "requirements.txt").open("a") as requirements:
        requirements.write("async-timeout>=4.0.3\n")
    return root


def _derived(base: str, tag: str, *lines: str) -> str:
    """A new image (so a new digest) on top of `base`: a thin layer built in seconds."""
    dockerfile = "\n".join([f"FROM {base}", *lines]) + "\n"
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, text=True,
                   capture_output=True, check=True)  # fmt: skip
    return tag


def _push(root: Path, registry: LocalRegistry, image: str) -> str:
    assert _cli("push", str(root), "--registry", f"{registry.host}/swarm", "--image", image) == 0
    return releases.load(root / ".dockyard" / "releases.json").latest().reference


@pytest.fixture(scope="module")
def deployed(swarm: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    port = free_port()
    root = _project(tmp_path_factory.mktemp("swarm"), port)
    os.environ["DOCKYARD_SECRET_API_TOKEN"] = "swarm-test-token"
    name = root.joinpath("dockyard.toml").read_text().split('name = "', 1)[1].split('"', 1)[0]
    registry = LocalRegistry(tmp_path_factory.mktemp("registry"))
    tags = []
    try:
        v1 = f"{name}:0.1.0"
        build_image(root, BASE, v1, Console(quiet=True))
        v2 = _derived(v1, f"{name}:v2", "LABEL dev.dockyard.test=v2")
        # Readiness fails for good: the golden canary no longer matches what the model says.
        broken = _derived(v1, f"{name}:broken", "USER 0",
                          "RUN sed -i 's/4.125/5.125/' /app/tests/golden.jsonl",
                          "USER 10001:10001")  # fmt: skip
        tags = [v1, broken, v2]  # pushed in this order: v2 is the latest release
        images = {
            k: _push(root, registry, t) for k, t in zip(("v1", "broken", "v2"), tags, strict=True)
        }
        started = time.monotonic()
        assert _cli("deploy", str(root), "--swarm", "--env", "test", "--image", images["v1"]) == 0
        print(f"\nstack up and healthy in {time.monotonic() - started:.1f}s")
        key = (root / ".dockyard" / "secrets" / "api_key").read_text().strip()
        yield Deployed(root, f"{name}-test", f"http://127.0.0.1:{port}", key, images)
    finally:
        _cli("undeploy", str(root), "--swarm", "--env", "test", "--volumes")
        registry.close()
        os.environ.pop("DOCKYARD_SECRET_API_TOKEN", None)
        pushed = _docker("images", "-q", f"{registry.host}/swarm/{name}", check=False).split()
        for image in [*tags, *sorted(set(pushed))]:
            _docker("image", "rm", "--force", image, check=False)


class Load:
    """A steady stream of predictions through the front, counting every answer."""

    def __init__(self, deployed: Deployed) -> None:
        self.deployed, self.statuses = deployed, Counter[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = self.deployed.predict(client)
                    ok = response.status_code == 200 and response.json()["outputs"] == [4.125]
                    status = (
                        str(response.status_code) if ok or response.status_code != 200 else "bad"
                    )
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.statuses[status] += 1
                time.sleep(0.01)

    def stop(self) -> Counter[str]:
        self._stop.set()
        self._thread.join(10)
        return self.statuses


def test_the_stack_comes_up_healthy_behind_its_front(deployed: Deployed) -> None:
    label = f"label=com.docker.stack.namespace={deployed.stack}"
    rows = _docker("service", "ls", "--filter", label, "--format", "{{.Name}} {{.Replicas}}")
    replicas = dict(line.split() for line in rows.splitlines())
    s = deployed.stack
    assert replicas == {f"{s}_api": "2/2", f"{s}_front": "1/1", f"{s}_redis": "1/1",
                        f"{s}_worker": "1/1"}  # fmt: skip
    assert deployed.image() == deployed.images["v1"]  # by digest, from the release record
    with httpx.Client(timeout=10) as client:
        assert deployed.predict(client).json()["outputs"] == [4.125]
        refused = client.post(f"{deployed.url}/predict", json={"inputs": [ROW]})
    assert refused.status_code == 401  # published on every interface: keys are on


def _tasks(deployed: Deployed, service: str) -> str:
    label = f"label=com.docker.swarm.service.name={deployed.stack}_{service}"
    return _docker("ps", "-q", "--filter", label)


def test_a_rolling_update_under_load_fails_no_request(deployed: Deployed) -> None:
    redis = _tasks(deployed, "redis")
    load = Load(deployed)
    time.sleep(2)
    started = time.monotonic()
    try:
        code = _cli("deploy", str(deployed.root), "--swarm", "--env", "test")  # latest push
        took = time.monotonic() - started
        time.sleep(2)
    finally:
        seen = load.stop()
    print(f"\nrolling update to v2: {took:.1f}s; requests {sum(seen.values())}: {dict(seen)}")
    assert code == 0
    assert deployed.image() == deployed.images["v2"]  # the latest push
    assert set(seen) == {"200"} and seen["200"] > 100, seen
    assert _tasks(deployed, "redis") == redis  # a model update leaves the queue alone


def test_a_broken_update_rolls_back_by_itself(deployed: Deployed) -> None:
    good = deployed.images["v2"]
    assert deployed.image() == good
    load = Load(deployed)
    started = time.monotonic()
    try:
        broken = deployed.images["broken"]
        code = _cli("deploy", str(deployed.root), "--swarm", "--env", "test", "--image", broken)
        took = time.monotonic() - started
    finally:
        seen = load.stop()
    print(f"\nbroken update rolled back in {took:.1f}s; requests: {dict(seen)}")
    assert code == 9  # ReleaseError: Swarm rolled it back, nothing recorded
    assert deployed.image() == good
    assert deployed.image("worker") == good  # the stack runs one version
    assert set(seen) == {"200"}, seen  # the broken task never became ready, so never got traffic
    record = releases.load(deployed.root / ".dockyard" / "releases.json")
    assert record.current("test").reference == good  # type: ignore[union-attr]


def _exec_api(deployed: Deployed, method: str, path: str, body: object = None) -> object:
    """A request to the API inside one of its tasks (the front serves inference only)."""
    task = _tasks(deployed, "api")
    code = (
        "import json,sys,urllib.request as u;"
        f"r=u.Request('http://127.0.0.1:8000{path}',method='{method}',"
        "data=sys.stdin.read().encode() or None,headers={'Content-Type':'application/json'});"
        "print(u.urlopen(r,timeout=30).read().decode())"
    )
    done = subprocess.run(
        ["docker", "exec", "-i", task.split()[0], "/opt/venv/bin/python", "-c", code],
        input=json.dumps(body) if body is not None else "", capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def _workers(deployed: Deployed) -> str:
    fmt = "{{.Replicas}}"
    return _docker("service", "ls", "--filter", f"name={deployed.stack}_worker", "--format", fmt)


def test_three_workers_drain_a_queue_with_nothing_lost(deployed: Deployed) -> None:
    assert _cli("scale", str(deployed.root), "--env", "test", "worker=3") == 0
    deadline = time.monotonic() + 120
    while _workers(deployed).strip() != "3/3":
        assert time.monotonic() < deadline, _workers(deployed)
        time.sleep(1)
    total = 600
    for _ in range(total // 100):
        _exec_api(deployed, "POST", "/jobs", {"inputs": [ROW] * 100})
    started = time.monotonic()
    counts: dict[str, int] = {}
    while time.monotonic() < started + 180:
        counts = _exec_api(deployed, "GET", "/jobs/stats")["counts"]  # type: ignore[index]
        if counts["done"] + counts["dead"] + counts["cancelled"] >= total:
            break
        time.sleep(0.5)
    print(f"\nqueue of {total} drained by 3 workers in {time.monotonic() - started:.1f}s: {counts}")
    assert counts["done"] == total and counts["dead"] == 0 and counts["cancelled"] == 0, counts
