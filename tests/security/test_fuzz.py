"""schemathesis over the secured OpenAPI document: with a key no 5xx, without one only 401."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from dockyard.runtime.auth import rules
from tests.conftest import Server
from tests.security.conftest import SCOPES, bearer, full_project, new_key, write_keys

ADMIN = new_key()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fuzz")
    write_keys(tmp / "keys", [(ADMIN, "fuzzer", ",".join(SCOPES))])
    server = Server(
        full_project(tmp / "project"), env={"DOCKYARD_AUTH_KEYS_FILE": str(tmp / "keys")}
    )
    server.wait("/readyz", timeout=60)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(secured: Server) -> Any:
    # the document itself needs a key: fetched with one, the cases then choose their own headers
    return schemathesis.openapi.from_url(secured.url + "/openapi.json", headers=bearer(ADMIN))


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_with_a_key_no_request_gets_a_5xx(case: Any) -> None:
    response = case.call(headers=bearer(ADMIN))
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}"


@schema.parametrize()
@FUZZ
def test_without_a_key_only_probes_answer(case: Any) -> None:
    response = case.call(headers={})
    path = case.formatted_path
    if rules.MODEL_SERVICE.scope_for(path) is None:
        assert response.status_code != 401, f"{case.method} {path}: a probe must stay open"
    else:
        assert response.status_code == 401, f"{case.method} {path} -> {response.status_code}"
        assert response.headers["www-authenticate"] == ['Bearer realm="dockyard"']
        assert response.json()["error"]["type"] == "unauthorized"


def test_the_document_declares_the_scheme(secured: Server) -> None:
    document = httpx.get(secured.url + "/openapi.json", headers=bearer(ADMIN)).json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert document["paths"]["/predict"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in document["paths"]["/healthz"]["get"]


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
