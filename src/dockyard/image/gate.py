"""`dockyard test`: the CI gate's pure core (checks, statistics, report); I/O is injected.

Each gate returns a Check; the CLI runs the container and hands in the observed values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Compare = Callable[[Any, Any, float, float, str], str | None]
Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One gate's verdict and the numbers behind it."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """A golden sample: an input and the output expected from it."""

    input: Any
    output: Any


def parity(
    samples: Sequence[Sample],
    container: Sequence[Any],
    local: Sequence[Any],
    compare: Compare,
    atol: float,
    rtol: float,
) -> Check:
    """The container must match both the golden outputs and the local code, within tolerance."""
    problems = []
    for i, (sample, got, here) in enumerate(zip(samples, container, local, strict=True)):
        if problem := compare(got, sample.output, atol, rtol, f"sample {i + 1} vs golden"):
            problems.append(problem)
        if problem := compare(got, here, atol, rtol, f"sample {i + 1} vs local"):
            problems.append(problem)
    detail = f"{len(samples)} golden samples match golden and local outputs"
    return Check(
        "parity",
        "fail" if problems else "pass",
        "; ".join(problems[:3]) or detail,
        {"samples": len(samples), "mismatches": len(problems)},
    )


def quality(
    outputs: Sequence[Any],
    labels: Sequence[Any],
    metric: str,
    threshold: float | None,
    label_key: str | None = None,
) -> Check:
    """accuracy (>= threshold) or mean absolute error (<= threshold) over an evaluation file."""
    if threshold is None or not labels:
        return Check("quality", "skip", "no build.gate.eval_file/threshold")
    got = [o[label_key] if label_key else o for o in outputs]
    if metric == "accuracy":
        value = sum(g == e for g, e in zip(got, labels, strict=True)) / len(labels)
        ok = value >= threshold
    else:
        value = sum(abs(float(g) - float(e)) for g, e in zip(got, labels, strict=True)) / len(
            labels
        )
        ok = value <= threshold
    sign = ">=" if metric == "accuracy" else "<="
    return Check(
        "quality",
        "pass" if ok else "fail",
        f"{metric} {value:.4g} (needs {sign} {threshold:g}) over {len(labels)} rows",
        {"metric": metric, "value": value, "threshold": threshold},
    )


def jobs(
    samples: Sequence[Sample],
    finished: Sequence[dict[str, Any]],
    compare: Compare,
    atol: float,
    rtol: float,
) -> Check:
    """Golden inputs submitted as jobs must each end `done` with the golden output."""
    problems = []
    for i, (sample, job) in enumerate(zip(samples, finished, strict=True)):
        if job.get("state") != "done":
            problems.append(f"job {i + 1} ended {job.get('state')}: {job.get('error')}")
        elif problem := compare(job.get("result"), sample.output, atol, rtol, f"job {i + 1}"):
            problems.append(problem)
    detail = f"{len(samples)} golden inputs as jobs through the worker match golden outputs"
    return Check(
        "jobs",
        "fail" if problems else "pass",
        "; ".join(problems[:3]) or detail,
        {"jobs": len(samples), "problems": len(problems)},
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; q in [0, 100]."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency(
    durations_s: Sequence[float], errors: int, bound_ms: float | None, concurrency: int
) -> Check:
    """p95 of N requests at a set concurrency must stay below the bound; any error fails."""
    ms = [d * 1000 for d in durations_s]
    p50, p95 = (percentile(ms, 50), percentile(ms, 95)) if ms else (math.inf, math.inf)
    data = {
        "requests": len(ms),
        "errors": errors,
        "concurrency": concurrency,
        "p50_ms": p50,
        "p95_ms": p95,
        "bound_ms": bound_ms,
    }
    detail = f"p95 {p95:.1f} ms, p50 {p50:.1f} ms over {len(ms)} requests x{concurrency}"
    if errors:
        return Check("latency", "fail", f"{errors} requests failed; {detail}", data)
    if bound_ms is None:
        return Check("latency", "pass", f"{detail} (no bound set)", data)
    ok = p95 <= bound_ms
    return Check("latency", "pass" if ok else "fail", f"{detail} (bound {bound_ms:g} ms)", data)


def non_root(uid_output: str, configured_user: str) -> Check:
    """`id -u` in the container must not be 0, and the image must declare a user."""
    uid = uid_output.strip()
    ok = uid.isdigit() and uid != "0" and configured_user not in ("", "0", "root")
    return Check(
        "non-root", "pass" if ok else "fail", f"id -u = {uid}, image USER = {configured_user!r}"
    )


def health(exit_code: int, output: str) -> Check:
    """The image's own HEALTHCHECK command must succeed in the running container."""
    ok = exit_code == 0
    return Check(
        "healthcheck",
        "pass" if ok else "fail",
        "HEALTHCHECK command exits 0" if ok else f"exit {exit_code}: {output.strip()[-200:]}",
    )


def failed(checks: Sequence[Check]) -> list[Check]:
    """The checks that fail the gate."""
    return [c for c in checks if c.status == "fail"]


def render_text(image: str, checks: Sequence[Check]) -> str:
    """One line per check, then the verdict."""
    marks = {"pass": "PASS", "fail": "FAIL", "skip": "skip"}
    lines = [f"dockyard test {image}"] + [
        f"  {marks[c.status]}  {c.name:<12} {c.detail}" for c in checks
    ]
    bad = failed(checks)
    lines.append(f"FAILED: {', '.join(c.name for c in bad)}" if bad else "PASSED")
    return "\n".join(lines)


def render_json(image: str, checks: Sequence[Check]) -> str:
    """Machine-readable report for CI."""
    return json.dumps(
        {"image": image, "passed": not failed(checks), "checks": [asdict(c) for c in checks]},
        indent=2,
        default=str,
    )
