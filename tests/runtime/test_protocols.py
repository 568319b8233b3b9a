"""Wire protocols against a running server: KServe V2 via the official tritonclient, and the
OpenAPI schema fuzzed by schemathesis with zero 5xx answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import schemathesis
import tritonclient.http as triton
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient
from tritonclient.utils import InferenceServerException

from tests.fixtures.projects import make_project
from tests.support.asgi import in_process
from tests.support.procs import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(make_project(tmp_path_factory.mktemp("clf"), "classifier"))
    server.wait("/readyz")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def digits() -> Iterator[Server]:
    server = Server(EXAMPLES / "digits", "--no-access-log")
    server.wait("/readyz")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def digits_app() -> Iterator[TestClient]:
    with in_process(EXAMPLES / "digits") as app:
        yield app


def client(server: Server) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")


@pytest.mark.slow  # the official Triton client over a real socket
def test_v2_health_and_metadata(digits: Server) -> None:
    c = client(digits)
    assert c.is_server_live() and c.is_server_ready()
    assert c.is_model_ready("digits") and c.is_model_ready("digits", "1")
    assert c.get_server_metadata()["name"] == "dockyard"
    meta = c.get_model_metadata("digits")
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, -1]}]
    assert {o["name"] for o in meta["outputs"]} == {"label", "probability"}
    with pytest.raises(InferenceServerException):
        c.get_model_metadata("no-such-model")


@pytest.mark.slow  # the official Triton client over a real socket
def test_v2_infer_digits_matches_predict(digits: Server) -> None:
    rows = np.asarray(
        [[float((i * j) % 17) for j in range(64)] for i in range(3)], dtype=np.float32
    )
    tensor = triton.InferInput("input-0", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows)
    result = client(digits).infer(
        "digits", [tensor], outputs=[triton.InferRequestedOutput("label")]
    )
    labels = result.as_numpy("label")
    assert result.as_numpy("probability") is None, "only the requested output is returned"
    expected = httpx.post(digits.url + "/predict", json={"inputs": rows.tolist()}).json()["outputs"]
    assert labels.tolist() == [o["label"] for o in expected]


@pytest.mark.slow  # the official Triton client over a real socket
def test_v2_infer_by_version_and_all_outputs(digits: Server) -> None:
    rows = np.zeros((2, 64), dtype=np.float64)
    tensor = triton.InferInput("input-0", [2, 64], "FP64")
    tensor.set_data_from_numpy(rows)
    result = client(digits).infer("digits", [tensor], model_version="1")
    assert result.as_numpy("label").shape == (2,)
    assert result.as_numpy("probability").dtype == np.float64


def tensor(shape: object, datatype: str, data: list[object], name: str = "input-0") -> object:
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]}


@pytest.mark.parametrize(
    ("body", "status", "kind", "fragment"),
    [
        (tensor([1, 64], "FP32", [1.0] * 10), 400, "invalid_tensor", "needs 64 values"),
        (tensor([1, 3], "FP32", [1.0] * 3), 422, "invalid_input", "at least 64"),  # the schema
        (tensor([1, 64], "BYTES", ["a"] * 64), 400, "invalid_tensor", "datatype"),
        ({"inputs": []}, 400, "invalid_tensor", "non-empty"),
        (tensor("1", "FP32", [], name="x"), 400, "invalid_tensor", "shape"),
        ([1, 2], 400, "invalid_request", "JSON object"),
    ],
)
def test_v2_bad_tensors_are_a_json_4xx(
    digits_app: TestClient, body: Any, status: int, kind: str, fragment: str
) -> None:
    """A malformed tensor is 400; well-formed tensors the model's schema refuses are 422."""
    response = digits_app.post("/v2/models/digits/infer", json=body)
    error = response.json()["error"]
    assert (response.status_code, error["type"]) == (status, kind), response.text
    assert fragment in error["message"]


def test_v2_unknown_model_is_404(digits_app: TestClient) -> None:
    response = digits_app.post("/v2/models/other/infer", json={"inputs": []})
    assert response.status_code == 404 and response.json()["error"]["type"] == "unknown_model"


@pytest.fixture(scope="module")
def api_schema(classifier: Server) -> Any:
    return schemathesis.openapi.from_url(classifier.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow  # schemathesis over a real server
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_never_get_a_5xx(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.path} -> {response.status_code}: {response.text}"
    )
