"""The gate's client for a running container: predictions, a load generator, and jobs."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dockyard.errors import GateError

FINAL_JOB_STATES = frozenset({"done", "dead", "cancelled"})


Headers = Mapping[str, str] | None  # e.g. the API key of a service with [auth]
Trust = ssl.SSLContext | None  # for a service with TLS: its own certificate, pinned


def predict(url: str, inputs: list[Any], headers: Headers = None, tls: Trust = None) -> list[Any]:
    """POST /predict with a batch; the outputs in order."""
    return list(_post(url, "/predict", {"inputs": inputs}, headers, tls)["outputs"])


def timed_requests(
    url: str, item: Any, n: int, concurrency: int, headers: Headers = None, tls: Trust = None
) -> tuple[list[float], int]:
    """Send `n` single-input predictions, `concurrency` at a time; (durations in s, errors)."""

    def one(_: int) -> float | None:
        started = time.perf_counter()
        try:
            predict(url, [item], headers, tls)
        except Exception:
            return None
        return time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    durations = [r for r in results if r is not None]
    return durations, len(results) - len(durations)


def predict_in_chunks(
    url: str, inputs: list[Any], size: int = 64, headers: Headers = None, tls: Trust = None
) -> list[Any]:
    """Predict a long list in batches the body limit accepts."""
    outputs: list[Any] = []
    for start in range(0, len(inputs), size):
        outputs += predict(url, inputs[start : start + size], headers, tls)
    return outputs


def run_jobs(
    url: str,
    inputs: list[Any],
    timeout_s: float = 60.0,
    headers: Headers = None,
    tls: Trust = None,
) -> list[dict[str, Any]]:
    """Submit the inputs as jobs and wait until each is final; the jobs as the API shows them."""
    submitted = _post(url, "/jobs", {"inputs": inputs}, headers, tls)
    ids = [job["id"] for job in submitted["jobs"]]
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = [_get(url, f"/jobs/{job_id}", headers, tls) for job_id in ids]
        if all(job["state"] in FINAL_JOB_STATES for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            states = ", ".join(sorted({str(job["state"]) for job in jobs}))
            raise GateError(f"jobs not finished within {timeout_s:g}s (states: {states})")
        time.sleep(0.2)


def _post(
    url: str, path: str, body: dict[str, Any], headers: Headers, tls: Trust = None
) -> dict[str, Any]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(f"{url}{path}", json.dumps(body).encode(), sent)
    with urllib.request.urlopen(request, timeout=60, context=tls) as response:
        return dict(json.loads(response.read()))


def _get(url: str, path: str, headers: Headers, tls: Trust = None) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}{path}", headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=30, context=tls) as response:
        return dict(json.loads(response.read()))


__all__ = ["predict", "predict_in_chunks", "run_jobs", "timed_requests"]
