"""The /status page: key figures and plots, read from the same exposition /metrics serves.

`summarize` parses the Prometheus text so the page can never disagree with /metrics. A sampler
keeps a short history (requests, errors, p95, queue depth, batch size) for the time plots. The
page is one HTML file with inline JS drawing SVG: no CDN, works in air-gapped clusters.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

REQUESTS = ("dockyard_requests", "dockyard_router_requests", "dockyard_pipeline_items")
LATENCY = (
    "dockyard_request_duration_seconds",
    "dockyard_router_upstream_duration_seconds",
    "dockyard_pipeline_latency_seconds",
)
HISTORY = 360
Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    """Every sample of the exposition by sample name (counters keep their _total suffix)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return samples


def total(samples: Samples, name: str, **match: str) -> float:
    rows = samples.get(name, [])
    return sum(v for labels, v in rows if all(labels.get(k) == w for k, w in match.items()))


def quantile(samples: Samples, name: str, q: float) -> float | None:
    """histogram_quantile over every label set of a histogram, like PromQL's."""
    buckets: dict[float, float] = {}
    for labels, value in samples.get(f"{name}_bucket", []):
        le = float(labels["le"])
        buckets[le] = buckets.get(le, 0.0) + value
    edges = sorted(buckets)
    if not edges or buckets[edges[-1]] == 0:
        return None
    rank, lower, below = q * buckets[edges[-1]], 0.0, 0.0
    for le in edges:
        if buckets[le] >= rank:
            if math.isinf(le):
                return lower
            span = buckets[le] - below
            return lower + (le - lower) * ((rank - below) / span if span else 0.0)
        lower, below = le, buckets[le]
    return None


def _by(samples: Samples, name: str, label: str) -> dict[str, float]:
    return {labels.get(label, ""): v for labels, v in samples.get(name, [])}


def summarize(samples: Samples) -> dict[str, Any]:
    """The figures the page shows, each taken straight from a metric."""
    requests_name = next((n for n in REQUESTS if f"{n}_total" in samples), REQUESTS[0])
    latency_name = next((n for n in LATENCY if f"{n}_count" in samples), LATENCY[0])
    rows = samples.get(f"{requests_name}_total", [])
    # Errors of the inference routes only: probes answer 503 by design while a model loads.
    errors = sum(
        v
        for labels, v in rows
        if labels.get("status", "").startswith("5") and _inference(labels.get("route", ""))
    )
    p95 = quantile(samples, latency_name, 0.95)
    batch_count = total(samples, "dockyard_batch_size_count")
    batches = {labels["le"]: v for labels, v in samples.get("dockyard_batch_size_bucket", [])}
    state = [k for k, v in _by(samples, "dockyard_state", "state").items() if v == 1]
    return {
        "requests": sum(v for _, v in rows),
        "errors": errors,
        "latency_p95_ms": None if p95 is None else p95 * 1000,
        "latency_p50_ms": _ms(quantile(samples, latency_name, 0.5)),
        "queue_depth": total(samples, "dockyard_queue_depth")
        + total(samples, "dockyard_pipeline_queue", state="queued"),
        "batch_mean": total(samples, "dockyard_batch_size_sum") / batch_count
        if batch_count
        else None,
        "batch_buckets": batches,
        "classes": _by(samples, "dockyard_predictions_total", "label"),
        "canary_ok": _first(samples, "dockyard_canary_ok"),
        "state": state[0] if state else None,
        "input_psi": _by(samples, "dockyard_input_drift_psi", "feature"),
        "input_ks": _by(samples, "dockyard_input_drift_ks", "feature"),
        "prediction_psi": _by(samples, "dockyard_prediction_drift_baseline_psi", "feature"),
        "score": {
            f"{labels['version']}/{labels['metric']}": v
            for labels, v in samples.get("dockyard_feedback_score", [])
        },
        "coverage": _by(samples, "dockyard_feedback_coverage", "version"),
        "versions_up": _by(samples, "dockyard_router_version_up", "version"),
    }


def _inference(route: str) -> bool:
    return route in ("", "/predict") or route.endswith("/infer")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _first(samples: Samples, name: str) -> float | None:
    rows = samples.get(name)
    return rows[0][1] if rows else None


class StatusPage:
    """Serves /status and /status.json for any front (service, router, pipeline)."""

    def __init__(
        self,
        exposition: Callable[[], bytes],
        info: Callable[[], dict[str, Any]],
        interval_s: float = 5.0,
    ) -> None:
        self.exposition, self.info, self.interval_s = exposition, info, interval_s
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._sample(), name="dockyard-status-history")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _sample(self) -> None:
        while True:  # the first point one interval in: at start-up the loop has better to do
            await asyncio.sleep(self.interval_s)
            self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """The current figures, also appended to the history."""
        figures = summarize(parse(self.exposition().decode()))
        point = {k: figures[k] for k in ("requests", "errors", "latency_p95_ms", "queue_depth",
                                         "batch_mean")}  # fmt: skip
        self.history.append({"t": time.time(), **point})
        return figures

    async def json(self, _: Request) -> Response:
        figures = self.snapshot()
        return JSONResponse({**self.info(), "figures": figures, "history": list(self.history)})

    async def html(self, _: Request) -> Response:
        return HTMLResponse(page())


def page() -> str:
    return (resources.files("dockyard.runtime.monitor") / "status.html").read_text("utf-8")


def status_routes(
    exposition: Callable[[], bytes], info: Callable[[], dict[str, Any]]
) -> list[Route]:
    """/status and /status.json for a front without a sampler (router, pipeline front)."""
    page = StatusPage(exposition, info)
    return [Route("/status", page.html), Route("/status.json", page.json)]
