"""Per-key rate limits (429 + Retry-After, other keys served) and key rotation without restart."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.auth.keys import Key
from dockyard.runtime.auth.limiter import Bucket, Limiter, Limits
from tests.conftest import Server
from tests.fixtures.projects import make_project
from tests.security.conftest import bearer, new_key, write_keys

FLOOD, WINDOW_S = 400, 2.0


def test_a_bucket_refills_at_its_rate() -> None:
    bucket = Bucket(rate=2.0, size=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5  # one token comes back in half a second
    assert bucket.take(0.5) == 0.0 and bucket.take(0.5) == 0.5


def test_key_limits_override_the_specs_and_unlimited_keys_get_no_bucket() -> None:
    limiter = Limiter(Limits(rps=10, burst=0), clock=lambda: 0.0)
    own = limiter.bucket(Key("a", frozenset({"predict"}), rps=1, burst=4))
    assert own is not None and own[0].rate == 1 and own[0].size == 4
    spec = limiter.bucket(Key("b", frozenset({"predict"})))
    assert spec is not None and spec[0].size == 20  # burst defaults to 2 * rps
    assert Limiter(Limits()).bucket(Key("c", frozenset({"predict"}))) is None


async def _flood(url: str, key: str, stop: float) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def one() -> httpx.Response:
            return await client.post("/predict", json={"inputs": ["x"]}, headers=bearer(key))

        answers: list[httpx.Response] = []
        while time.monotonic() < stop and len(answers) < FLOOD:
            answers += await asyncio.gather(*(one() for _ in range(20)))
        return answers


async def _timed(url: str, key: str, stop: float) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        took: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = await client.post("/predict", json={"inputs": ["y"]}, headers=bearer(key))
            assert response.status_code == 200, response.text
            took.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
        return took


async def _during_flood(
    url: str, flood_key: str, calm_key: str
) -> tuple[list[httpx.Response], list[float]]:
    stop = time.monotonic() + WINDOW_S
    return await asyncio.gather(_flood(url, flood_key, stop), _timed(url, calm_key, stop))


def test_a_burst_gets_429_while_another_key_is_served(tmp_path: Path) -> None:
    flood, calm, prom = new_key(), new_key(), new_key()
    keys = tmp_path / "keys"
    lines = [(flood, "flood", "predict rps=5 burst=5"), (calm, "calm", "predict")]
    write_keys(keys, [*lines, (prom, "prom", "metrics")])
    server = Server(
        make_project(tmp_path / "p", "echo"), env={"DOCKYARD_AUTH_KEYS_FILE": str(keys)}
    )
    try:
        server.wait("/readyz", timeout=60)
        alone = asyncio.run(_timed(server.url, calm, time.monotonic() + 1.0))
        answers, during = asyncio.run(_during_flood(server.url, flood, calm))
        refused = httpx.get(server.url + "/metrics", headers=bearer(calm)).status_code
        metrics = httpx.get(server.url + "/metrics", headers=bearer(prom)).text
    finally:
        server.stop()
    statuses = [a.status_code for a in answers]
    limited = [a for a in answers if a.status_code == 429]
    # a burst of 5 plus 5 per second over the window, never more
    assert statuses.count(200) <= 5 + 5 * (WINDOW_S + 1), statuses.count(200)
    assert set(statuses) == {200, 429} and limited
    assert {a.headers["retry-after"] for a in limited} == {"1"}
    assert limited[0].json()["error"]["type"] == "rate_limited"
    assert refused == 403  # a predict-only key cannot scrape
    counted = f'dockyard_auth_requests_total{{key_id="flood",outcome="limited"}} {len(limited)}.0'
    assert counted in metrics, metrics
    p50_alone, p50_during = statistics.median(alone), statistics.median(during)
    print(f"\ncalm key p50: alone {p50_alone * 1000:.1f} ms, during a {len(answers)}-request "
          f"flood {p50_during * 1000:.1f} ms ({len(limited)} answered 429)")  # fmt: skip


def test_a_replaced_keys_file_takes_effect_within_seconds(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    keys = tmp_path / "keys"
    write_keys(keys, [(old, "v1", "predict")])
    server = Server(
        make_project(tmp_path / "p", "echo"), env={"DOCKYARD_AUTH_KEYS_FILE": str(keys)}
    )
    try:
        server.wait("/readyz", timeout=60)
        body = {"inputs": ["x"]}
        assert (
            httpx.post(server.url + "/predict", json=body, headers=bearer(old)).status_code == 200
        )
        assert (
            httpx.post(server.url + "/predict", json=body, headers=bearer(new)).status_code == 401
        )
        write_keys(keys, [(new, "v2", "predict")])
        replaced = time.monotonic()
        while True:
            was = httpx.post(server.url + "/predict", json=body, headers=bearer(old)).status_code
            now = httpx.post(server.url + "/predict", json=body, headers=bearer(new)).status_code
            if (was, now) == (401, 200):
                break
            assert time.monotonic() - replaced < 5, (was, now)
            time.sleep(0.05)
        print(f"\nrotation took effect in {time.monotonic() - replaced:.2f}s")
        # a broken file keeps the keys in force rather than locking everyone out
        keys.write_text("not a valid line\n")
        time.sleep(1.5)
        assert (
            httpx.post(server.url + "/predict", json=body, headers=bearer(new)).status_code == 200
        )
    finally:
        server.stop()


async def _two_at_once(url: str, key: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer(key)) as client:
        slow = asyncio.create_task(client.post("/predict", json={"inputs": [1.0]}))
        await asyncio.sleep(0.3)  # the first is in flight (the model sleeps 1 s)
        second = await client.post("/predict", json={"inputs": [0.0]})
        return [await slow, second]


def test_a_key_over_its_in_flight_cap_gets_429(tmp_path: Path) -> None:
    key = new_key()
    keys = tmp_path / "keys"
    write_keys(keys, [(key, "one-at-a-time", "predict inflight=1")])
    server = Server(
        make_project(tmp_path / "p", "slow"), env={"DOCKYARD_AUTH_KEYS_FILE": str(keys)}
    )
    try:
        server.wait("/readyz", timeout=60)
        first, second = asyncio.run(_two_at_once(server.url, key))
        after = httpx.post(server.url + "/predict", json={"inputs": [0.0]}, headers=bearer(key))
    finally:
        server.stop()
    assert first.status_code == 200
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert after.status_code == 200  # the slot is free again once the first answered


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
