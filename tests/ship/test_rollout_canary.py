"""The canary's judgement, without an engine: windows of the front's metrics, and the bounds.

The samples are what `dockyard.runtime.router` exports (requests by version and status, the
primary upstream's latency histogram), made up here so each path of the verdict is exercised:
a clean window, an error-rate breach and a p95 breach.
"""

from __future__ import annotations

import pytest

from dockyard.deploy.rollout import Samples, Window, _breach, _p95, _window
from dockyard.spec.environments import Rollout

REQUESTS = "dockyard_router_requests_total"
BUCKET = "dockyard_router_upstream_duration_seconds_bucket"
LE = (0.05, 0.1, 0.25, 0.5, 1.0, float("inf"))


def _scrape(ok: float, failed: float, latencies: list[float], version: str = "green") -> Samples:
    """One scrape: counters for `version` (and some noise from the stable slot, `blue`)."""
    samples: Samples = [
        (REQUESTS, {"version": version, "status": "200"}, ok),
        (REQUESTS, {"version": version, "status": "500"}, failed),
        (REQUESTS, {"version": "blue", "status": "500"}, 1000.0),  # never the canary's
    ]
    for le in LE:
        count = float(sum(1 for s in latencies if s <= le))
        samples.append((BUCKET, {"version": version, "role": "primary", "le": _le(le)}, count))
        # the retries a canary's failures get are the other slot's, not the canary's latency
        samples.append((BUCKET, {"version": version, "role": "retry", "le": _le(le)}, 99.0))
    return samples


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(bound)


def test_a_window_counts_only_what_happened_between_two_scrapes() -> None:
    before = _scrape(100, 1, [0.01] * 101)
    after = _scrape(200, 3, [0.01] * 101 + [0.02] * 90 + [0.4] * 12)
    window = _window(before, after, "green")
    assert (window.requests, window.errors) == (102.0, 2.0)
    assert window.error_rate == pytest.approx(2 / 102)
    # 90 of the window's 102 answers took <= 50 ms, 12 took 400 ms: the 95th is in (0.25, 0.5]
    assert window.p95_s == 0.5


def test_p95_is_the_bucket_holding_the_95th_percentile() -> None:
    assert _p95({0.05: 95.0, 0.1: 99.0, float("inf"): 100.0}) == 0.05
    assert _p95({0.05: 94.0, 0.1: 99.0, float("inf"): 100.0}) == 0.1
    assert _p95({0.05: 0.0, float("inf"): 0.0}) is None  # no traffic: no verdict on latency
    assert _p95({}) is None


def test_a_clean_window_passes() -> None:
    rollout = Rollout(max_error_rate=0.01, max_p95_ms=300)
    assert _breach(Window(requests=500, errors=4, p95_s=0.25), rollout) is None


def test_an_error_rate_over_the_bound_aborts() -> None:
    rollout = Rollout(max_error_rate=0.01)
    said = _breach(Window(requests=200, errors=3, p95_s=0.05), rollout)
    assert said is not None and said.startswith("error rate 1.5% over 200 requests > 1.0%")


def test_a_p95_over_the_bound_aborts_even_without_errors() -> None:
    rollout = Rollout(max_error_rate=0.01, max_p95_ms=300)
    before = _scrape(0, 0, [])
    after = _scrape(100, 0, [0.02] * 90 + [0.4] * 10)
    window = _window(before, after, "green")
    assert window.error_rate == 0.0 and window.p95_s == 0.5
    assert _breach(window, rollout) == "p95 500 ms > 300 ms"
    assert _breach(window, Rollout(max_error_rate=0.01)) is None  # no bound, no latency abort


def test_a_silent_canary_is_not_judged_on_latency() -> None:
    rollout = Rollout(max_p95_ms=1)
    assert _breach(_window(_scrape(0, 0, []), _scrape(0, 0, []), "green"), rollout) is None
