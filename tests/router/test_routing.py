"""The router over real HTTP in front of real version servers: splits, sticky keys, weights."""

from __future__ import annotations

import collections
import concurrent.futures

import httpx
import pytest

from tests.router.conftest import Stack

pytestmark = pytest.mark.slow  # real router and version processes over sockets


def versions(*weights: tuple[str, float]) -> list[dict[str, object]]:
    return [{"name": n, "path": f"../{n}", "weight": w} for n, w in weights]


def answered(
    url: str, count: int, headers: dict[str, str] | None = None
) -> collections.Counter[str]:
    """Who answered `count` predictions: the body's tag, checked against X-Dockyard-Version."""
    seen: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=url) as client:
        for i in range(count):
            response = client.post("/predict", json={"inputs": [f"r{i}"]}, headers=headers)
            assert response.status_code == 200, response.text
            tag = response.json()["outputs"][0]["version"]
            assert response.headers["x-dockyard-version"] == tag
            seen[tag] += 1
    return seen


def test_round_robin_split_over_1000_requests_matches_weights(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 90), ("v2", 10)))
    seen = answered(router.url, 1000)
    assert seen == {"v1": 900, "v2": 100}  # smooth weighted round robin: exact


def test_seeded_random_split_is_within_five_percent(stack: Stack) -> None:
    for tag in ("a", "b", "c"):
        stack.version(tag)
    router = stack.router(
        versions=versions(("a", 50), ("b", 30), ("c", 20)), balance="random", seed=7
    )
    seen = answered(router.url, 1000)
    # Independent draws: one standard deviation of a 50% share over 1,000 is 1.6 points, so
    # 5 points is about 3 sigma; the seed makes the run reproducible, not lucky.
    for tag, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert abs(seen[tag] / 1000 - share) <= 0.05, seen


def test_sticky_key_always_lands_on_the_same_version(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 50), ("v2", 50)), sticky_header="X-User")
    owners = {}
    for user in range(40):
        seen = answered(router.url, 5, {"X-User": f"user-{user}"})
        assert len(seen) == 1, f"user-{user} was split: {seen}"
        owners[user] = next(iter(seen))
    assert set(owners.values()) == {"v1", "v2"}  # keys spread over both versions


def test_concurrent_clients_get_their_own_answers(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 1), ("v2", 1)))

    def one(i: int) -> None:
        response = httpx.post(router.url + "/predict", json={"inputs": [f"q{i}"]})
        assert response.json()["outputs"][0]["text"] == f"q{i}"

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(200)))


def test_v2_infer_is_forwarded_with_the_request_id(stack: Stack) -> None:
    stack.version("v1"), stack.version("v2")
    router = stack.router(versions=versions(("v1", 0), ("v2", 1)))
    body = {"inputs": [{"name": "input-0", "shape": [1], "datatype": "BYTES", "data": ["hi"]}]}
    response = httpx.post(
        router.url + "/v2/models/tagged/infer", json=body, headers={"X-Request-ID": "trace-42"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "trace-42"
    assert response.headers["x-dockyard-version"] == "v2"
    outputs = {t["name"]: t["data"] for t in response.json()["outputs"]}
    assert outputs == {"version": ["v2"], "text": ["hi"]}


def test_version_errors_pass_through_unchanged(stack: Stack) -> None:
    stack.version("v1")
    router = stack.router(versions=versions(("v1", 1)))
    response = httpx.post(router.url + "/predict", json={"inputs": [1]})
    assert response.status_code == 422  # the version's own validation error, as it sent it
    assert response.json()["error"]["type"] == "invalid_input"
    assert response.headers["x-dockyard-version"] == "v1"
