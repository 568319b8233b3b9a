"""Ground truth: true values joined to logged predictions, scored per model version.

`POST /feedback` takes `{"request_id", "index", "value"}` (index of the input within its request,
default 0); `POST /feedback/batch` takes `{"items": [...]}`. Scores are computed from the store
over the last `window` labelled predictions, so every server process reports the same number.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.runtime.http import HTTPError
from dockyard.runtime.monitor.recorder import Record
from dockyard.runtime.monitor.store import PredictionStore, Stored, now

Score = Callable[[list[Any], list[Any]], float]
PRUNE_S, REFRESH_S = 60.0, 5.0
DELAY_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400)


class Label(BaseModel):
    """One true value for one prediction: of a request's input, or of a job's."""

    model_config = ConfigDict(extra="forbid")
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    job_id: str | None = Field(default=None, min_length=1, max_length=200)
    index: int = Field(default=0, ge=0)
    value: Any

    @model_validator(mode="after")
    def _one_id(self) -> Label:
        if (self.request_id is None) == (self.job_id is None):
            raise ValueError("give exactly one of request_id or job_id")
        return self

    @property
    def key(self) -> str:
        return f"job:{self.job_id}/0" if self.job_id else f"{self.request_id}/{self.index}"


# A finished job's (result, finished_at), or None: jobs are joined on demand, not recorded.
JobResult = Callable[[str], tuple[Any, float] | None]


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Label] = Field(min_length=1, max_length=10_000)


def _pick(value: Any, field: str | None) -> Any:
    """The scored field of an output (or of a truth given as a whole output)."""
    if field and isinstance(value, dict) and field in value:
        return value[field]
    return value


def accuracy(outputs: list[Any], truths: list[Any]) -> float:
    return sum(bool(o == t) for o, t in zip(outputs, truths, strict=True)) / len(outputs)


def mae(outputs: list[Any], truths: list[Any]) -> float:
    pairs = zip(outputs, truths, strict=True)
    return sum(abs(float(o) - float(t)) for o, t in pairs) / len(outputs)


def rmse(outputs: list[Any], truths: list[Any]) -> float:
    pairs = zip(outputs, truths, strict=True)
    return math.sqrt(sum((float(o) - float(t)) ** 2 for o, t in pairs) / len(outputs))


SCORES: dict[str, Score] = {"accuracy": accuracy, "mae": mae, "rmse": rmse}


class FeedbackMetrics:
    """The ground-truth series, registered next to the service's own metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.score = Gauge(
            "dockyard_feedback_score",
            "Rolling quality of labelled predictions (accuracy, mae, rmse or custom)",
            ["version", "metric", "window"],
            registry=r,
            multiprocess_mode="max",
        )
        self.coverage = Gauge(
            "dockyard_feedback_coverage",
            "Share of the most recent predictions that received a true value",
            ["version", "window"],
            registry=r,
            multiprocess_mode="max",
        )
        self.labels = Counter(
            "dockyard_feedback_labels", "True values joined to a prediction", ["version"],
            registry=r,
        )  # fmt: skip
        self.unmatched = Counter(
            "dockyard_feedback_unmatched", "True values whose prediction is unknown or expired",
            registry=r,
        )  # fmt: skip
        self.delay = Histogram(
            "dockyard_feedback_delay_seconds", "Seconds from prediction to its true value",
            buckets=DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.recorded = Counter(
            "dockyard_monitor_recorded", "Predictions recorded for monitoring", registry=r
        )
        self.dropped = Counter(
            "dockyard_monitor_dropped", "Predictions not recorded: the backlog was full",
            registry=r,
        )  # fmt: skip


class Feedback:
    """The store sink of the recorder, and the /feedback routes that label and score."""

    def __init__(
        self,
        store: PredictionStore,
        metrics: FeedbackMetrics,
        version: str,
        metric: str,
        score: Score,
        field: str | None,
        window: int,
        job_result: JobResult | None = None,
    ) -> None:
        self.store, self.metrics, self.version = store, metrics, version
        self.job_result = job_result
        self.metric, self.score_fn, self.field, self.window = metric, score, field, window
        self.labels_json: TypeAdapter[Labels] = TypeAdapter(Labels)
        self.label_json: TypeAdapter[Label] = TypeAdapter(Label)
        self.last_prune = self.last_refresh = 0.0

    # ---- sink ------------------------------------------------------------------------------
    def write(self, records: Sequence[Record]) -> None:
        rows = [Stored(r.id, self.version, r.output_json, r.at) for r in records]
        self.store.add(rows)
        self.metrics.recorded.inc(len(rows))

    def tick(self, at: float) -> None:
        if at - self.last_prune > PRUNE_S:
            self.last_prune = at
            self.store.prune(at)
        if at - self.last_refresh > REFRESH_S:  # labels refresh at once; this is for coverage
            self.last_refresh = at
            self.refresh()

    def close(self) -> None:
        self.store.close()

    # ---- scores ----------------------------------------------------------------------------
    def refresh(self) -> dict[str, dict[str, float | None]]:
        """Recompute score and coverage of every stored version; return them."""
        summary: dict[str, dict[str, float | None]] = {}
        window = str(self.window)
        for version in self.store.versions():
            score = self.score_of(version)
            recent = self.store.recent(version, self.window)
            coverage = sum(r.labelled is not None for r in recent) / len(recent) if recent else 0.0
            if score is not None:
                self.metrics.score.labels(version, self.metric, window).set(score)
            self.metrics.coverage.labels(version, window).set(coverage)
            summary[version] = {"score": score, "coverage": coverage}
        return summary

    def score_of(self, version: str) -> float | None:
        rows = self.store.labelled(version, self.window)
        if not rows:
            return None
        outputs = [_pick(json.loads(r.output), self.field) for r in rows]
        truths = [_pick(json.loads(r.truth or "null"), self.field) for r in rows]
        return float(self.score_fn(outputs, truths))

    # ---- routes ----------------------------------------------------------------------------
    def apply(self, labels: Sequence[Label]) -> tuple[list[Stored], list[str]]:
        """Label what can be joined; the joined predictions and the unknown ids."""
        at, joined, unknown = now(), [], []
        for label in labels:
            key = label.key
            if label.job_id and self.job_result is not None:
                self._join_job(label.job_id, key)
            row = self.store.label(key, json.dumps(label.value), at)
            if row is None:
                unknown.append(key)
                continue
            joined.append(row)
            self.metrics.labels.labels(row.version).inc()
            self.metrics.delay.observe(max(0.0, at - row.created))
        if unknown:
            self.metrics.unmatched.inc(len(unknown))
        self.refresh()
        return joined, unknown

    def _join_job(self, job_id: str, key: str) -> None:
        """Store a finished job's result as the prediction its label joins."""
        assert self.job_result is not None
        found = self.job_result(job_id)
        if found is not None:
            result, finished = found
            self.store.add([Stored(key, self.version, json.dumps(result), finished)])

    async def post_one(self, request: Request) -> Response:
        label = _parse(self.label_json, await request.body())
        joined, _ = await asyncio.to_thread(self.apply, [label])
        if not joined:
            raise HTTPError(
                404,
                "unknown_prediction",
                f"no recorded prediction {label.key} (unknown, unfinished job, sampled out, "
                "or past monitoring.feedback.retention_s)",
            )
        row = joined[0]
        return JSONResponse(
            {"matched": 1, "version": row.version, "delay_s": round(now() - row.created, 3)}
        )

    async def post_batch(self, request: Request) -> Response:
        labels = _parse(self.labels_json, await request.body())
        joined, unknown = await asyncio.to_thread(self.apply, labels.items)
        return JSONResponse({"matched": len(joined), "unmatched": unknown})


def _parse(adapter: TypeAdapter[Any], body: bytes) -> Any:
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise HTTPError(400, "invalid_json", "the body is not valid JSON") from None
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
        raise HTTPError(422, "invalid_feedback", where) from None
