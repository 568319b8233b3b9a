"""Run every gate check against a launched container; the verdicts come from `gate`.

The host side (the local code the container must match, and how outputs are compared) is
passed in as `HostSide`, so this module never imports the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.image import gate, probe
from dockyard.image.engine import Engine
from dockyard.image.launch import Launched
from dockyard.spec import Spec
from dockyard.spec.build import Gate

Golden = list[gate.Sample]


@dataclass(frozen=True)
class HostSide:
    """The local model's predictions and the output comparison the runtime defines."""

    predict: Callable[[list[Any]], list[Any]]
    compare: gate.Compare


def run_checks(
    engine: Engine,
    spec: Spec,
    root: Path,
    launched: Launched,
    settings: Gate,
    golden: Golden,
    host: HostSide,
    headers: probe.Headers = None,
) -> list[gate.Check]:
    """Parity, latency, quality, jobs, non-root and the image's HEALTHCHECK, in that order."""
    url, tls, checks = launched.url, launched.tls, []
    if golden:
        inputs = [s.input for s in golden]
        tol = spec.health.tolerance
        checks.append(
            gate.parity(
                golden,
                probe.predict(url, inputs, headers, tls),
                host.predict(inputs),
                host.compare,
                tol.atol,
                tol.rtol,
            )
        )
        n, concurrency = settings.latency_requests, settings.latency_concurrency
        durations, errors = probe.timed_requests(url, inputs[0], n, concurrency, headers, tls)
        checks.append(gate.latency(durations, errors, settings.latency_p95_ms, concurrency))
    else:
        checks.append(gate.Check("parity", "fail", "no health.golden samples to compare"))
    checks.append(quality(root, url, settings, headers, tls))
    if launched.worker:
        checks.append(_jobs(url, golden, spec, host.compare, headers, tls))
    checks += _container_checks(engine, launched.api)
    return checks


def quality(
    root: Path, url: str, g: Gate, headers: probe.Headers = None, tls: probe.Trust = None
) -> gate.Check:
    """The quality gate on the eval data, through the service at `url`."""
    if not g.eval_file:
        return gate.quality([], [], g.metric, None)
    text = (root / g.eval_file).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    outputs = probe.predict_in_chunks(url, [r["input"] for r in rows], headers=headers, tls=tls)
    return gate.quality(outputs, [r["label"] for r in rows], g.metric, g.threshold, g.label_key)


def _jobs(
    url: str,
    golden: Golden,
    spec: Spec,
    compare: gate.Compare,
    headers: probe.Headers,
    tls: probe.Trust,
) -> gate.Check:
    """Golden inputs as jobs through the real worker: each must end with the golden output."""
    if not golden:
        return gate.Check("jobs", "fail", "no health.golden samples to submit as jobs")
    jobs = probe.run_jobs(url, [s.input for s in golden[:8]], headers=headers, tls=tls)
    tol = spec.health.tolerance
    return gate.jobs(golden[: len(jobs)], jobs, compare, tol.atol, tol.rtol)


def _container_checks(engine: Engine, container: str) -> list[gate.Check]:
    image = engine.image(engine.inspect(container)["Image"]) or {}
    config = image.get("Config") or {}
    uid = engine.exec(container, ["python", "-c", "import os; print(os.getuid())"])[1]
    checks = [gate.non_root(uid, str(config.get("User", "")))]
    test = (config.get("Healthcheck") or {}).get("Test", [])
    if test[:1] == ["CMD"]:
        checks.append(gate.health(*engine.exec(container, test[1:])))
    else:
        missing = "the image declares no exec-form HEALTHCHECK"
        checks.append(gate.Check("healthcheck", "fail", missing))
    return checks


__all__ = ["Golden", "HostSide", "quality", "run_checks"]
