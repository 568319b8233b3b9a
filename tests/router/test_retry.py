"""`router.retry`: a failing version's requests are answered by another one, and still counted."""

from __future__ import annotations

import httpx
import pytest

from tests.router.conftest import Stack
from tests.router.test_routing import versions
from tests.router.test_shadow_health import metric


def _statuses(url: str, n: int) -> dict[int, int]:
    seen: dict[int, int] = {}
    with httpx.Client() as client:
        for i in range(n):
            status = client.post(f"{url}/predict", json={"inputs": [f"r{i}"]}).status_code
            seen[status] = seen.get(status, 0) + 1
    return seen


def test_with_retry_a_broken_canary_costs_the_client_nothing(stack: Stack) -> None:
    stack.version("stable"), stack.version("canary")
    router = stack.router(versions=versions(("stable", 90), ("canary", 10)), retry=True)
    (stack.tmp / "canary" / "broken").touch()
    assert _statuses(router.url, 100) == {200: 100}
    # The canary's failures stay visible: they are what a rollout is judged on.
    assert (
        metric(router.url, "dockyard_router_requests_total", version="canary", status="500") == 10
    )
    assert (
        metric(router.url, "dockyard_router_retries_total", failed="canary", answered="stable")
        == 10
    )
    assert (
        metric(router.url, "dockyard_router_requests_total", version="stable", status="200") == 100
    )


def test_without_retry_the_failures_reach_the_client(stack: Stack) -> None:
    stack.version("stable"), stack.version("canary")
    router = stack.router(versions=versions(("stable", 90), ("canary", 10)))
    (stack.tmp / "canary" / "broken").touch()
    assert _statuses(router.url, 100) == {200: 90, 500: 10}


def test_a_version_that_is_gone_is_retried_on_another(stack: Stack) -> None:
    stack.version("old"), stack.version("new")
    router = stack.router(versions=versions(("old", 1), ("new", 1)), retry=True)
    stack.versions["new"].kill()  # refuses connections before the prober notices
    assert _statuses(router.url, 10) == {200: 10}


# Real server processes: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
