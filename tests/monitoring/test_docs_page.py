"""/docs is the standard Swagger UI served offline from swagger-ui-py's files: it renders in
headless Chromium with no console errors, offers the golden samples, and "try it" answers 200."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.monitoring.browser import swagger_try_predict
from tests.monitoring.conftest import DIGITS, digits

Serve = type[Server]


def test_openapi_offers_the_golden_samples_as_examples(tmp_path: Path, serve: Serve) -> None:
    server = serve(digits(tmp_path / "digits"))
    server.wait("/healthz")
    doc = httpx.get(server.url + "/openapi.json").json()
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    golden = [json.loads(x) for x in (DIGITS / "golden.jsonl").read_text().splitlines()]
    assert body["examples"]["golden-1"]["value"] == {"inputs": [golden[0]["input"]]}
    assert len(body["examples"]) == len(golden)
    assert "/feedback" in doc["paths"]
    assert httpx.get(server.url + "/docs/static/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(server.url + "/docs/static/../../etc/passwd").status_code == 404
    assert httpx.get(server.url + "/docs/static/index.html").status_code == 404


def test_swagger_ui_renders_offline_and_try_it_returns_200(
    tmp_path: Path, serve: Serve, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = serve(digits(tmp_path / "digits"))
    server.wait("/readyz")
    shown = swagger_try_predict(server.url, tmp_path_factory.getbasetemp() / "artifacts")
    assert shown.errors == []
    assert shown.outside == []  # nothing from a CDN: works air-gapped
    assert shown.status == "200"
    golden = json.loads((DIGITS / "golden.jsonl").read_text().splitlines()[0])
    assert json.loads(shown.body)["outputs"][0]["label"] == golden["output"]["label"]


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
