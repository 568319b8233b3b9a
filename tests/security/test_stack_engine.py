"""The Redis stack on a real engine with auth on: keys required, Redis behind its ACL user.

The stack's Redis must refuse a client without a login, even one on the back network, and its
password must appear in no `docker inspect`, container environment, log or rendered file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dockyard.spec import load_spec
from tests.conftest import free_port
from tests.stack.conftest import EXAMPLES
from tests.stack.redis_image import BASE, ensure_redis_image

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(900)]

if (
    not shutil.which("docker")
    or subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode
):
    pytest.skip(f"needs a Docker engine with {BASE}", allow_module_level=True)


@dataclass(frozen=True)
class Stack:
    root: Path
    project: str
    url: str

    def dockyard(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command, *rest = args
        argv = [sys.executable, "-m", "dockyard.cli.main", command, str(self.root), *rest]
        env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE, "DOCKYARD_SECRET_API_TOKEN": "t0ken"}
        done = subprocess.run([*argv, "-p", self.project], capture_output=True, text=True,
                              env=env, timeout=900)  # fmt: skip
        assert not check or done.returncode == 0, done.stdout + done.stderr
        return done

    def secret(self, name: str) -> str:
        return (self.root / ".dockyard" / "secrets" / name).read_text().strip()

    def container_ids(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return _docker("ps", "-aq", "--filter", label).split()


def _docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=check)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:6]
    root = tmp_path_factory.mktemp("secstack") / "redis"
    shutil.copytree(EXAMPLES / "redis", root, symlinks=False)
    port = free_port()
    spec = root / "dockyard.toml"
    text = spec.read_text().replace('bind = "127.0.0.1"', f'bind = "127.0.0.1"\napi_port = {port}')
    text = text.replace(
        'redis_image = "redis:7.4.2-alpine"', f'redis_image = "{ensure_redis_image()}"'
    )
    # its own image tag, so parallel runs of the other stack tests never rebuild ours
    text = text.replace('name = "digits-stack-redis"', 'name = "digits-stack-security"')
    # a shared CI machine may take minutes to load the model; health must not give up first
    text = text.replace("healthcheck_start_period_s = 60", "healthcheck_start_period_s = 600")
    # limits on: the API keeps them in the stack's Redis (refill outpaces the tests' polling)
    spec.write_text(text + "\n[auth]\nenabled = true\nrps = 5\nburst = 500\n")
    running = Stack(root, f"dysec-{suffix}", f"http://127.0.0.1:{port}")
    try:
        print(running.dockyard("up", "--timeout", "600").stdout)
        yield running
    finally:
        running.dockyard("down", "--volumes", check=False)


def test_the_api_needs_the_generated_key_and_jobs_reach_the_workers(stack: Stack) -> None:
    key = stack.secret("api_key")
    body = {"inputs": [[0.0] * 64]}
    assert httpx.post(stack.url + "/predict", json=body, timeout=30).status_code == 401
    answer = httpx.post(stack.url + "/jobs", json={"input": [0.0] * 64}, timeout=30,
                        headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    for _ in range(240):
        job = httpx.get(f"{stack.url}/jobs/{job_id}", headers={"X-API-Key": key}, timeout=30)
        if job.json()["state"] == "done":
            break
        subprocess.run(["sleep", "0.5"], check=True)
    assert job.json()["state"] == "done", job.text  # the worker logged in to Redis


def test_redis_refuses_a_client_without_a_login_on_the_back_network(stack: Stack) -> None:
    network = f"{stack.project}_back"
    probe = ["run", "--rm", "--network", network, ensure_redis_image(), "redis-cli", "-h", "redis"]
    assert "NOAUTH" in _docker(*probe, "get", "x", check=False)
    assert "WRONGPASS" in _docker(*probe, "--user", "dockyard", "--pass", "guess",
                                  "--no-auth-warning", "ping", check=False)  # fmt: skip
    fenced = _docker(*probe, "--user", "health", "--pass", "x", "--no-auth-warning", "keys", "*",
                     check=False)  # fmt: skip
    assert "NOPERM" in fenced


def test_the_password_is_in_no_inspect_env_log_or_rendered_file(stack: Stack) -> None:
    password, key = stack.secret("redis_password"), stack.secret("api_key")
    ids = stack.container_ids()
    assert len(ids) >= 4
    places = {"docker inspect": _docker("inspect", *ids)}
    for cid in ids:
        places[f"logs {cid[:12]}"] = _docker("logs", cid, check=False)
        running = json.loads(_docker("inspect", cid))[0]["State"]["Running"]
        if running:
            places[f"env {cid[:12]}"] = _docker("exec", cid, "env", check=False)
    for path in stack.root.rglob("*"):
        if path.is_file() and not {"secrets", "run-secrets"} & set(path.parts):
            places[str(path.relative_to(stack.root))] = path.read_text(errors="replace")
    leaks = [where for where, text in places.items() if password in text or key in text]
    assert not leaks, leaks


def test_the_api_keeps_its_rate_limits_in_the_stacks_redis(stack: Stack) -> None:
    key, password = stack.secret("api_key"), stack.secret("redis_password")
    assert httpx.get(stack.url + "/metrics", headers={"X-API-Key": key}, timeout=30).is_success
    namespace = load_spec(stack.root).worker.namespace
    probe = ["run", "--rm", "--network", f"{stack.project}_back", ensure_redis_image(),
             "redis-cli", "-h", "redis", "--user", "dockyard", "--pass", password,
             "--no-auth-warning"]  # fmt: skip
    bucket = f"{{{namespace}}}:ratelimit:operator:bucket"
    assert _docker(*probe, "hget", bucket, "stamp").strip().isdigit()  # written by the script
