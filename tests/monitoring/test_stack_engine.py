"""`dockyard up --monitoring` on a real engine: Prometheus, built locally from Debian's binary,
scrapes the API under the job the rules select, with the rules loaded; the same image serves
the real Swagger UI at /docs, offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from dockyard.deploy.stack import compose_binary
from tests.conftest import free_port
from tests.monitoring.conftest import digits

pytestmark = [pytest.mark.engine, pytest.mark.slow, pytest.mark.timeout(900)]
BASE = "dockyard-local/python:3.11-bookworm"


def _ready() -> bool:
    if not (shutil.which("docker") and shutil.which("prometheus")):
        return False
    return subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode == 0


if not _ready():
    pytest.skip(f"needs a Docker engine with {BASE} and prometheus", allow_module_level=True)


def dockyard(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE}
    argv = [sys.executable, "-m", "dockyard.cli.main", *args]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, int]]:
    """The digits stack with monitoring, up once for the module's tests."""
    name = f"digits-monitor-{uuid.uuid4().hex[:6]}"
    port = free_port()
    root = digits(tmp_path_factory.mktemp("stack") / "digits", f"[stack]\napi_port = {port}\n")
    spec = root / "dockyard.toml"
    spec.write_text(spec.read_text().replace('name = "digits"', f'name = "{name}"', 1))
    try:
        dockyard("up", str(root), "-p", name, "--monitoring", "--timeout", "300")
        yield root, name, port
    finally:
        dockyard("down", str(root), "-p", name, "--volumes", check=False)
        subprocess.run(["docker", "image", "rm", "-f", f"{name}:0.1.0"], capture_output=True)


def prometheus_url(root: Path, name: str) -> str:
    done = subprocess.run(
        [*compose_binary(), "--project-directory", str(root), "-p", name,
         "-f", str(root / "compose.yaml"), "-f", str(root / "compose.monitoring.yaml"),
         "port", "prometheus", "9090"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return "http://" + done.stdout.strip()


def poll(url: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5).json()
            if check(last):
                return last
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} never satisfied the check; last answer: {last}")


def test_up_with_monitoring_scrapes_the_api_with_the_rules_loaded(
    stack: tuple[Path, str, int],
) -> None:
    root, name, port = stack
    assert httpx.get(f"http://127.0.0.1:{port}/predict").status_code == 405
    prom = prometheus_url(root, name)
    targets = poll(
        prom + "/api/v1/targets",
        lambda r: any(t["health"] == "up" for t in r["data"]["activeTargets"]),
    )
    up = [t for t in targets["data"]["activeTargets"] if t["health"] == "up"]
    assert up[0]["labels"]["job"] == name
    rules = httpx.get(prom + "/api/v1/rules").json()["data"]["groups"]
    assert {g["name"] for g in rules} >= {f"{name}-service", f"{name}-model-quality"}
    alerts = {r["name"] for g in rules for r in g["rules"]}
    assert {"DockyardInputDrift", "DockyardCanaryFailing"} <= alerts
    query = f'/api/v1/query?query=dockyard_canary_ok{{job="{name}"}}'
    # The first scrape may come while the model loads (canary not yet run): wait for a later one.
    answer = poll(prom + query, lambda r: [x["value"][1] for x in r["data"]["result"]] == ["1"])
    assert answer["data"]["result"][0]["metric"]["job"] == name


def test_the_image_serves_swagger_ui_offline_and_try_it_returns_200(
    stack: tuple[Path, str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The image has no swagger-ui-py (nor Jinja2): the files come in dockyard's own wheel."""
    from tests.monitoring.browser import swagger_try_predict

    root, _, port = stack
    url = f"http://127.0.0.1:{port}"
    page = httpx.get(url + "/docs").text
    assert "swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1]
    assert httpx.get(url + "/docs/static/swagger-ui-bundle.js").status_code == 200
    openapi = httpx.get(url + "/openapi.json").json()
    validate(openapi)  # a valid OpenAPI 3.1 document, as Swagger UI will read it
    assert set(openapi["components"]["securitySchemes"]) == {"bearer", "apiKey"}  # "Authorize"
    assert "golden-1" in openapi["paths"]["/predict"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]  # fmt: skip
    shown = swagger_try_predict(url, tmp_path_factory.getbasetemp() / "artifacts", "image-docs.png")
    assert (shown.errors, shown.outside, shown.status) == ([], [], "200")
    golden = json.loads((root / "golden.jsonl").read_text().splitlines()[0])
    assert json.loads(shown.body)["outputs"][0]["label"] == golden["output"]["label"]
