"""The first hour of a new user, on real server processes: health semantics, non-finite inputs,
generic model errors, [env], and the body limit sized from the input type (issue 10)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.fixtures.projects import make_project

Serve = type[Server]

MODELS = {
    # A float model that fails on negative inputs with an internal detail in its message.
    "fragile": """
from dockyard import Model


class Fragile(Model[float, float]):
    def predict(self, batch: list[float]) -> list[float]:
        if any(x < 0 for x in batch):
            raise ValueError("secret-internal-path /srv/weights/v7.bin rejected a negative input")
        return [x * 2 for x in batch]
""",
    # Pydantic-model inputs keep their own config: one says nothing, one allows NaN on purpose.
    "point": """
from pydantic import BaseModel, ConfigDict

from dockyard import Model


class Point(BaseModel):
    x: float


class Tolerant(BaseModel):
    model_config = ConfigDict(allow_inf_nan=True)
    x: float


class Points(Model[Point, float]):
    def predict(self, batch: list[Point]) -> list[float]:
        return [p.x for p in batch]


class NaNPoints(Model[Tolerant, str]):
    def predict(self, batch: list[Tolerant]) -> list[str]:
        return [repr(p.x) for p in batch]
""",
    "reads_env": """
import os

from dockyard import Model


class ReadsEnv(Model[str, str]):
    def predict(self, batch: list[str]) -> list[str]:
        return [os.environ.get(name, "<unset>") for name in batch]
""",
}


def project(root: Path, module: str, entry: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(MODELS[module])
    spec = f'[project]\nname = "{module}"\n\n[model]\nentrypoint = "{module}:{entry}"\n{extra}'
    (root / "dockyard.toml").write_text(spec)
    return root


# ---- item 2: a failed setup() is fatal, a failed canary is not --------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_failed_setup_turns_liveness_red_then_exits_3(
    tmp_path: Path, serve: Serve, workers: int
) -> None:
    """With several server processes too: the supervisor stops them all and exits 3, so a
    restart policy acts (Docker's does not act on an unhealthy container, only on an exit)."""
    root = make_project(
        tmp_path,
        "setup_fails",
        health={"setup_failure_exit_s": 3.0},
        serving={"workers": workers},
    )
    server = serve(root)
    server.wait("/healthz", status=503)
    live = httpx.get(server.url + "/healthz").json()
    assert live["status"] == "dead" and "weights file is corrupt" in live["reason"]
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["state"] == "failed" and "setup failed: RuntimeError" in ready["reason"]
    assert server.proc.wait(15) == 3
    assert "the model could not start" in server.log.read_text()


def test_failed_canary_stays_alive_but_unready(tmp_path: Path, serve: Serve) -> None:
    golden = [{"input": 1.0, "output": 3.0}]
    root = make_project(
        tmp_path, "wrong_canary", golden=golden, health={"setup_failure_exit_s": 0.5}
    )
    server = serve(root)
    server.wait("/readyz", status=503)
    time.sleep(1.5)  # longer than the setup-failure grace: a canary failure must not exit
    assert server.alive
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert httpx.get(server.url + "/readyz").json()["state"] == "failed"


# ---- item 7: non-finite inputs are the client's error; model errors stay in the log ----------
def test_non_finite_numbers_are_refused_with_422(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "fragile", "Fragile"))
    server.wait("/readyz")
    for token in ("NaN", "Infinity", "-Infinity", "1e999"):
        response = httpx.post(server.url + "/predict", content=f'{{"inputs": [1.0, {token}]}}')
        assert response.status_code == 422, token
        error = response.json()["error"]
        assert error["type"] == "invalid_input" and "finite" in error["message"], token
    v2 = httpx.post(
        server.url + "/v2/models/fragile/infer",
        content='{"inputs": [{"name": "input-0", "shape": [1], "datatype": "FP64", '
        '"data": [NaN]}]}',
    )
    assert v2.status_code == 422 and "finite" in v2.json()["error"]["message"]
    assert httpx.post(server.url + "/predict", json={"inputs": [1.5]}).json() == {"outputs": [3.0]}


def test_non_finite_in_a_pydantic_model_input(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path / "strict", "point", "Points"))
    server.wait("/readyz")
    refused = httpx.post(server.url + "/predict", content='{"inputs": [{"x": NaN}]}')
    assert refused.status_code == 422 and "finite" in refused.json()["error"]["message"]
    assert httpx.post(server.url + "/predict", json={"inputs": [{"x": 2}]}).json() == {
        "outputs": [2.0]
    }
    tolerant = serve(project(tmp_path / "tolerant", "point", "NaNPoints"))
    tolerant.wait("/readyz")
    allowed = httpx.post(tolerant.url + "/predict", content='{"inputs": [{"x": NaN}]}')
    assert allowed.status_code == 200 and allowed.json() == {"outputs": ["nan"]}


def test_model_failure_is_generic_for_the_caller_and_detailed_in_the_log(
    tmp_path: Path, serve: Serve
) -> None:
    server = serve(project(tmp_path, "fragile", "Fragile"))
    server.wait("/readyz")
    response = httpx.post(
        server.url + "/predict", json={"inputs": [-1.0]}, headers={"X-Request-ID": "rid-42"}
    )
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "prediction_failed" and error["request_id"] == "rid-42"
    assert "secret-internal-path" not in response.text and "request id" in error["message"]
    time.sleep(0.2)
    logged = [json.loads(x) for x in server.log.read_text().splitlines() if "rid-42" in x]
    assert any("secret-internal-path" in entry.get("error", "") for entry in logged)


def test_expose_errors_shows_details_in_development(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "fragile", "Fragile", "\n[serving]\nexpose_errors = true\n"))
    server.wait("/readyz")
    response = httpx.post(server.url + "/predict", json={"inputs": [-1.0]})
    assert response.status_code == 500 and "secret-internal-path" in response.text


def test_jobs_refuse_non_finite_inputs_and_keep_listing(tmp_path: Path, serve: Serve) -> None:
    worker = f'\n[worker]\nenabled = true\nsqlite_path = "{tmp_path / "jobs.sqlite3"}"\n'
    server = serve(project(tmp_path / "p", "fragile", "Fragile", worker))
    server.wait("/readyz")
    for body in ('{"input": NaN}', '{"inputs": [1.0, Infinity]}', '{"input": 1e999}'):
        refused = httpx.post(server.url + "/jobs", content=body)
        assert refused.status_code == 422, body
        assert "finite" in refused.text, body
    listed = httpx.get(server.url + "/jobs")
    assert listed.status_code == 200 and listed.json()["jobs"] == []
    assert httpx.post(server.url + "/jobs", json={"input": 1.5}).status_code == 202


# ---- item 4: [env] reaches the model's process ---------------------------------------------
def test_env_table_reaches_the_served_model(tmp_path: Path, serve: Serve) -> None:
    extra = '\n[env]\nOPENAI_BASE_URL = "http://127.0.0.1:9/v1"\nTOKENIZERS_PARALLELISM = "false"\n'
    server = serve(project(tmp_path, "reads_env", "ReadsEnv", extra))
    server.wait("/readyz")
    names = ["OPENAI_BASE_URL", "TOKENIZERS_PARALLELISM"]
    outputs = httpx.post(server.url + "/predict", json={"inputs": names}).json()["outputs"]
    assert outputs == ["http://127.0.0.1:9/v1", "false"]


# ---- item 8: the default body limit follows max_batch_size and the input type ----------------
def test_default_body_limit_fits_a_full_batch_of_long_vectors(tmp_path: Path, serve: Serve) -> None:
    root = make_project(tmp_path, "classifier", serving={"max_batch_size": 256})
    server = serve(root)
    server.wait("/readyz")
    rows = [[round(math.sin(i * j), 6) for j in range(512)] for i in range(256)]
    body = json.dumps({"inputs": rows})
    assert len(body) > 1024 * 1024, "bigger than the old fixed 1 MiB limit"
    response = httpx.post(server.url + "/predict", content=body, timeout=30)
    assert response.status_code == 200 and len(response.json()["outputs"]) == 256
    too_big = httpx.post(server.url + "/predict", content=b" " * (65 * 1024**2), timeout=30)
    assert too_big.status_code == 413
    assert "serving.max_body_bytes" in too_big.json()["error"]["message"]


# Real server processes: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
