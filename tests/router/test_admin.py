"""Weights changed at run time, without a restart: the admin endpoint and the weights file."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.router.conftest import Stack
from tests.router.test_routing import answered, versions
from tests.router.test_shadow_health import metric
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # real router and version processes over sockets


def test_admin_put_changes_the_split_at_run_time(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 90), ("v2", 10)))
    assert answered(router.url, 100) == {"v1": 90, "v2": 10}
    response = httpx.put(router.url + "/admin/weights", json={"v2": 90})  # v1 keeps its 90
    assert response.status_code == 200
    assert response.json()["weights"] == {"v1": 90, "v2": 90}
    assert response.json()["rotation"] == {"v1": 0.5, "v2": 0.5}
    assert answered(router.url, 100) == {"v1": 50, "v2": 50}
    httpx.put(router.url + "/admin/weights", json={"v1": 0})  # promote v2 completely
    assert answered(router.url, 20) == {"v2": 20}
    assert metric(router.url, "dockyard_router_version_weight", version="v1") == 0
    assert (
        metric(router.url, "dockyard_router_weight_updates_total", source="admin", result="applied")
        == 2
    )


BAD_UPDATES = [
    (b"{not json", 400, "invalid_json", "not valid JSON"),
    (b"[1, 2]", 422, "invalid_weights", "JSON object"),
    (b"{}", 422, "invalid_weights", "JSON object"),
    (b'{"v3": 5}', 422, "invalid_weights", "unknown version 'v3'"),
    (b'{"v1": -1}', 422, "invalid_weights", "v1: weight -1"),
    (b'{"v1": "ten"}', 422, "invalid_weights", "not a number"),
    (b'{"v1": true}', 422, "invalid_weights", "not a number"),
    (b'{"v1": NaN}', 422, "invalid_weights", "finite"),
    (b'{"v1": 0, "v2": 0}', 422, "invalid_weights", "above 0"),
]


def test_bad_weights_are_refused_with_a_json_4xx_and_change_nothing(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 90), ("v2", 10)))
    for body, status, kind, says in BAD_UPDATES:
        response = httpx.put(router.url + "/admin/weights", content=body)
        assert response.status_code == status, body
        assert response.json()["error"]["type"] == kind, body
        assert says in response.json()["error"]["message"], body
    assert httpx.get(router.url + "/admin/weights").json()["weights"] == {"v1": 90, "v2": 10}
    assert answered(router.url, 10) == {"v1": 9, "v2": 1}


def test_every_problem_of_a_bad_update_is_reported(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 90), ("v2", 10)))
    message = httpx.put(router.url + "/admin/weights", json={"v1": -2, "zz": 1}).json()
    assert "v1: weight -2" in message["error"]["message"]
    assert "unknown version 'zz'" in message["error"]["message"]


def test_admin_token_is_required_when_configured(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(
        env={"DOCKYARD_SECRET_ROUTER_ADMIN": "s3cret-token"},
        versions=versions(("v1", 1), ("v2", 1)),
        admin_token_secret="router_admin",
    )
    url = router.url + "/admin/weights"
    refused = httpx.put(url, json={"v2": 3})
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "unauthorized"
    assert (
        httpx.put(url, json={"v2": 3}, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    good = httpx.put(url, json={"v2": 3}, headers={"Authorization": "Bearer s3cret-token"})
    assert good.status_code == 200
    assert good.json()["weights"] == {"v1": 1, "v2": 3}


def test_weights_file_changes_are_applied_without_a_restart(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    weights = stack.tmp / "weights.json"
    weights.write_text(json.dumps({"v1": 3, "v2": 1}))
    router = stack.router(
        versions=versions(("v1", 90), ("v2", 10)), weights_file=str(weights), weights_poll_s=0.1
    )
    eventually(lambda: httpx.get(router.url + "/admin/weights").json()["weights"]["v1"] == 3)
    assert answered(router.url, 100) == {"v1": 75, "v2": 25}

    weights.write_text("{broken")  # a half-written file is refused; the last weights stay
    os.utime(weights, ns=(1, 1))
    refused = {"source": "file", "result": "refused"}
    eventually(lambda: metric(router.url, "dockyard_router_weight_updates_total", **refused) == 1)
    assert httpx.get(router.url + "/admin/weights").json()["weights"] == {"v1": 3, "v2": 1}

    weights.write_text(json.dumps({"v1": 0, "v2": 1}))
    eventually(lambda: httpx.get(router.url + "/admin/weights").json()["weights"]["v1"] == 0)
    assert answered(router.url, 20) == {"v2": 20}


def test_probes_and_unknown_routes(stack: Stack) -> None:
    stack.version("v1")
    router = stack.router(versions=versions(("v1", 1)))
    assert httpx.get(router.url + "/healthz").json() == {"status": "alive"}
    ready = httpx.get(router.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["rotation"] == ["v1"]
    missing = httpx.get(router.url + "/nope")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    wrong = httpx.post(router.url + "/admin/weights", json={})
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "method_not_allowed"
    assert httpx.get(router.url + "/predict").status_code == 405
    assert httpx.get(router.url + "/v2/models/tagged/infer").status_code == 405
