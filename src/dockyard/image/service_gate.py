"""The gate's checks against a service that already runs (a staging environment, say).

`dockyard promote` and `dockyard gate --env` run these against the environment a digest would be
promoted from: golden outputs, quality on the eval data and latency, measured through the
service's own API (with its key), so a promotion is judged on the deployed service rather than
on a fresh container.
"""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.image import checks, gate, probe
from dockyard.spec import Spec


def check_service(
    spec: Spec, root: Path, url: str, compare: gate.Compare, headers: probe.Headers = None
) -> list[gate.Check]:
    """Golden parity, quality and latency of the service at `url`."""
    samples = _samples(spec, root)
    if not samples:
        return [gate.Check("parity", "fail", "no health.golden samples to compare")]
    got = probe.predict(url, [s.input for s in samples], headers)
    tol = spec.health.tolerance
    # Compared with the golden outputs only: the service runs the image's code, not ours.
    expected = [s.output for s in samples]
    found = [gate.parity(samples, got, expected, compare, tol.atol, tol.rtol)]
    g = spec.build.gate
    found.append(checks.quality(root, url, g, headers))
    n, concurrency = g.latency_requests, g.latency_concurrency
    durations, errors = probe.timed_requests(url, samples[0].input, n, concurrency, headers)
    found.append(gate.latency(durations, errors, g.latency_p95_ms, concurrency))
    return found


def _samples(spec: Spec, root: Path) -> list[gate.Sample]:
    if not spec.health.golden:
        return []
    lines = (root / spec.health.golden).read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [gate.Sample(r["input"], r["output"]) for r in rows]
