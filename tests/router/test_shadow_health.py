"""Shadow traffic and health over real processes: copies compared, never returned; unready out."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.router.conftest import Stack
from tests.router.test_routing import answered, versions
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # real router and version processes over sockets


def metric(url: str, name: str, **labels: str) -> float:
    """One sample's value from the router's /metrics."""
    for family in text_string_to_metric_families(httpx.get(url + "/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_shadow_answers_never_reach_the_client_but_are_compared(stack: Stack) -> None:
    stack.version("stable"), stack.version("candidate")
    router = stack.router(
        versions=versions(("stable", 1), ("candidate", 0)),
        shadow="candidate",
        shadow_fields=["text"],
    )
    assert answered(router.url, 200) == {"stable": 200}  # the candidate's tag never comes back
    shadow = {"primary": "stable", "shadow": "candidate"}
    eventually(
        lambda: metric(router.url, "dockyard_router_shadow_total", **shadow, outcome="agree") == 200
    )
    assert metric(router.url, "dockyard_router_shadow_agreement_ratio", **shadow) == 1.0
    count = "dockyard_router_upstream_duration_seconds_count"
    assert metric(router.url, count, version="candidate", role="shadow") == 200
    assert metric(router.url, count, version="stable", role="primary") == 200


def test_shadow_disagreement_is_counted_per_version_pair(stack: Stack) -> None:
    stack.version("stable"), stack.version("candidate")
    # Whole outputs are compared: the version tags differ, so every copy disagrees.
    router = stack.router(versions=versions(("stable", 1), ("candidate", 0)), shadow="candidate")
    answered(router.url, 50)
    shadow = {"primary": "stable", "shadow": "candidate"}
    eventually(
        lambda: (
            metric(router.url, "dockyard_router_shadow_total", **shadow, outcome="disagree") == 50
        )
    )
    assert metric(router.url, "dockyard_router_shadow_agreement_ratio", **shadow) == 0.0


def test_a_slow_shadow_never_delays_the_client(stack: Stack) -> None:
    stack.version("stable")
    stack.version("candidate", serving='executor = "thread"')  # its probes stay fast
    (stack.tmp / "candidate" / "delay.txt").write_text("2")
    router = stack.router(
        versions=versions(("stable", 1), ("candidate", 0)), shadow="candidate", shadow_concurrency=4
    )
    started = time.monotonic()
    assert answered(router.url, 20) == {"stable": 20}
    assert time.monotonic() - started < 2.0  # 20 answers while the shadow takes 2 s per copy
    shadow = {"primary": "stable", "shadow": "candidate"}
    # Only 4 copies may be in flight; the rest were dropped rather than queued.
    assert metric(router.url, "dockyard_router_shadow_total", **shadow, outcome="dropped") >= 15


def test_a_canary_that_fails_its_health_is_removed_then_restored(stack: Stack) -> None:
    stack.version("stable")
    stack.version("canary")
    router = stack.router(versions=versions(("stable", 90), ("canary", 10)))
    assert answered(router.url, 100) == {"stable": 90, "canary": 10}

    flag = stack.tmp / "canary" / "unhealthy"
    flag.touch()  # the canary's health() now returns False: its /readyz answers 503
    eventually(lambda: metric(router.url, "dockyard_router_version_up", version="canary") == 0)
    assert answered(router.url, 100) == {"stable": 100}
    assert httpx.get(router.url + "/readyz").status_code == 200  # the stable version still serves

    flag.unlink()
    eventually(lambda: metric(router.url, "dockyard_router_version_up", version="canary") == 1)
    assert answered(router.url, 100) == {"stable": 90, "canary": 10}


def test_a_version_that_dies_is_taken_out_and_nothing_left_is_503(stack: Stack) -> None:
    stack.version("stable")
    router = stack.router(versions=versions(("stable", 1)))
    stack.versions["stable"].stop()
    eventually(lambda: httpx.get(router.url + "/readyz").status_code == 503)
    response = httpx.post(router.url + "/predict", json={"inputs": ["x"]})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "no_version"
    assert response.headers["retry-after"] == "1"
