"""The gate's checks against a service that already runs (a staging environment, say).

`dockyard promote` runs these against the environment a digest would be promoted from: golden
outputs, quality on the eval data and latency, measured through the service's own API, so a
promotion is judged on the deployed service rather than on a fresh container.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from dockyard.image import gate
from dockyard.spec import Spec
from dockyard.spec.build import Gate


def predict(url: str, inputs: list[Any], headers: dict[str, str] | None = None) -> list[Any]:
    response = httpx.post(f"{url}/predict", json={"inputs": inputs}, headers=headers, timeout=60)
    response.raise_for_status()
    return list(response.json()["outputs"])


def check_service(
    spec: Spec, root: Path, url: str, compare: gate.Compare, headers: dict[str, str] | None = None
) -> list[gate.Check]:
    """Golden parity, quality and latency of the service at `url`."""
    checks = [
        _golden(spec, root, url, compare, headers),
        _quality(spec.build.gate, root, url, headers),
    ]
    samples = _samples(spec, root)
    if samples:
        g = spec.build.gate
        checks.append(_latency(url, samples[0].input, g, headers))
    return checks


def _samples(spec: Spec, root: Path) -> list[gate.Sample]:
    if not spec.health.golden:
        return []
    lines = (root / spec.health.golden).read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [gate.Sample(r["input"], r["output"]) for r in rows]


def _golden(
    spec: Spec, root: Path, url: str, compare: gate.Compare, headers: dict[str, str] | None
) -> gate.Check:
    samples = _samples(spec, root)
    if not samples:
        return gate.Check("parity", "fail", "no health.golden samples to compare")
    got = predict(url, [s.input for s in samples], headers)
    expected = [s.output for s in samples]
    # The service is compared with the golden outputs only: its code is the image's, not ours.
    return gate.parity(
        samples, got, expected, compare, spec.health.tolerance.atol, spec.health.tolerance.rtol
    )


def _quality(g: Gate, root: Path, url: str, headers: dict[str, str] | None) -> gate.Check:
    if not g.eval_file:
        return gate.quality([], [], g.metric, None)
    lines = (root / g.eval_file).read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    outputs: list[Any] = []
    for start in range(0, len(rows), 64):
        outputs += predict(url, [r["input"] for r in rows[start : start + 64]], headers)
    return gate.quality(outputs, [r["label"] for r in rows], g.metric, g.threshold, g.label_key)


def _latency(url: str, item: Any, g: Gate, headers: dict[str, str] | None) -> gate.Check:
    def one(_: int) -> float | None:
        started = time.perf_counter()
        try:
            predict(url, [item], headers)
        except httpx.HTTPError:
            return None
        return time.perf_counter() - started

    with ThreadPoolExecutor(g.latency_concurrency) as pool:
        results = list(pool.map(one, range(g.latency_requests)))
    durations = [r for r in results if r is not None]
    failed = len(results) - len(durations)
    return gate.latency(durations, failed, g.latency_p95_ms, g.latency_concurrency)
