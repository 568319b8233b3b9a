"""examples/router in one command (`dockyard router`), driven over HTTP like a user would."""

from __future__ import annotations

import collections
import importlib.util
import json
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import REPO
from tests.router.conftest import Proc
from tests.router.test_shadow_health import metric
from tests.support.ports import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # real router and version processes over sockets

EXAMPLE = REPO / "examples" / "router"
# `dockyard router`, through the CLI module alone (cli/main.py registers it for `dockyard`).
CLI = (
    "import typer; from dockyard.cli import router; "
    "app = typer.Typer(); router.register(app); app()"
)

# Found, not imported: the versions import scikit-learn in their own processes, and importing it
# here would cost every collection ~2 s (these tests are not in the fast suite).
if importlib.util.find_spec("sklearn") is None:
    pytest.skip("scikit-learn is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    port = free_port()
    log = tmp_path_factory.mktemp("router-example") / "router.log"
    proc = Proc([sys.executable, "-c", CLI, str(EXAMPLE), "--port", str(port)], log, port, {})
    try:
        proc.wait("/readyz", timeout=60)
        eventually(lambda: httpx.get(proc.url + "/admin/weights").json()["up"] == ["v1", "v2"], 60)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()


def _eval_rows() -> list[dict[str, object]]:
    text = (REPO / "examples" / "digits" / "eval.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_canary_split_and_shadow_agreement(example: Proc) -> None:
    rows = _eval_rows()
    seen: collections.Counter[str] = collections.Counter()
    correct = 0
    with httpx.Client(base_url=example.url) as client:
        for i in range(1000):
            row = rows[i % len(rows)]
            response = client.post("/predict", json={"inputs": [row["input"]]})
            assert response.status_code == 200
            seen[response.headers["x-dockyard-version"]] += 1
            correct += response.json()["outputs"][0]["label"] == row["label"]
    assert seen == {"v1": 900, "v2": 100}  # the 10% canary, exactly
    assert correct / 1000 > 0.95
    pair = {"primary": "v1", "shadow": "v2"}
    total = "dockyard_router_shadow_total"
    eventually(
        lambda: (
            sum(metric(example.url, total, **pair, outcome=o) for o in ("agree", "disagree")) == 900
        )
    )
    # v2 is a differently regularised model: it mostly, but not always, names the same digit.
    assert 0.9 < metric(example.url, "dockyard_router_shadow_agreement_ratio", **pair) < 1.0


def test_sticky_users_and_v2_protocol(example: Proc) -> None:
    pixels = _eval_rows()[0]["input"]
    for user in ("ada", "bob", "cy"):
        versions = {
            httpx.post(
                example.url + "/predict", json={"inputs": [pixels]}, headers={"X-User-ID": user}
            ).headers["x-dockyard-version"]
            for _ in range(5)
        }
        assert len(versions) == 1
    tensor = {"name": "input-0", "shape": [1, 64], "datatype": "FP64", "data": pixels}
    response = httpx.post(example.url + "/v2/models/digits/infer", json={"inputs": [tensor]})
    assert response.status_code == 200
    assert (
        response.json()["model_version"]
        == {"v1": "1", "v2": "2"}[response.headers["x-dockyard-version"]]
    )


def test_example_files_are_what_the_specs_say() -> None:
    from dockyard.runtime.loader import sha256_of
    from dockyard.spec import load_spec

    for project in (EXAMPLE, EXAMPLE / "v2"):
        spec = load_spec(project)
        for artifact in spec.artifacts:
            assert sha256_of(project / artifact.path) == artifact.sha256
