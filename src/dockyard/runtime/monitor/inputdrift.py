"""Drift of recent inputs and predictions against the build-time baseline, per feature.

Each feature keeps a sliding window of its last `window` values. Numeric features (and the
derived scores of text and embeddings) get PSI over the baseline's quantile bins and the
Kolmogorov-Smirnov distance to its quantiles; categorical ones get PSI over categories. Scores
are exported only once a window is full, so a handful of early requests cannot raise an alert.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from dockyard.runtime.monitor.baseline import (
    OTHER,
    Baseline,
    Feature,
    bin_shares,
    cosine,
    flatten,
    text_score,
)
from dockyard.runtime.monitor.recorder import Record

SMOOTHING = 1e-4
REFRESH_S = 2.0


def psi(reference: dict[str, float], current: dict[str, float]) -> float:
    """Population stability index: < 0.1 stable, 0.1-0.25 shifting, > 0.25 drifted."""
    score = 0.0
    for key in set(reference) | set(current):
        ref = max(reference.get(key, 0.0), SMOOTHING)
        cur = max(current.get(key, 0.0), SMOOTHING)
        score += (cur - ref) * math.log(cur / ref)
    return score


def ks(quantiles: Sequence[float], values: Sequence[float]) -> float:
    """Largest gap between the window's CDF and the baseline's (from its quantiles)."""
    current = sorted(values)
    gap = 0.0
    for x in sorted(set(current) | set(quantiles)):
        f_cur = bisect_right(current, x) / len(current)
        f_ref = bisect_right(quantiles, x) / len(quantiles)
        gap = max(gap, abs(f_cur - f_ref))
    return gap


class FeatureWindow:
    """The last `size` values of one feature, turned into what its baseline compares."""

    def __init__(self, feature: Feature, size: int) -> None:
        self.feature, self.values = feature, deque[Any](maxlen=size)
        self.vocabulary = set(feature.vocabulary)

    def add(self, value: Any) -> None:
        kind = self.feature.kind
        if value is None:
            return
        if kind == "categorical":
            key = value if isinstance(value, str) else _json(value)
            self.values.append(key if key in self.feature.shares else OTHER)
        elif kind == "text" and isinstance(value, str):
            self.values.append(text_score(value, self.vocabulary))
        elif kind == "embedding" and isinstance(value, list):
            self.values.append(cosine(value, self.feature.centroid))
        elif kind == "numeric" and isinstance(value, (int, float)):
            self.values.append(float(value))

    @property
    def full(self) -> bool:
        return len(self.values) == self.values.maxlen

    def scores(self) -> dict[str, float]:
        """{"psi": ..., "ks": ...} (KS only for numeric-like features)."""
        f = self.feature
        if f.kind == "categorical":
            counts = Counter(self.values)
            current = {k: n / len(self.values) for k, n in counts.items()}
            return {"psi": psi(f.shares, current)}
        current = bin_shares(self.values, f.edges)
        return {"psi": psi(f.shares, current), "ks": ks(f.quantiles, list(self.values))}


def _json(value: Any) -> str:
    return json.dumps(value)


class DriftMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["feature", "kind", "window"]
        self.input_psi = Gauge(
            "dockyard_input_drift_psi", "PSI of a feature's recent inputs vs the baseline",
            labels, registry=registry, multiprocess_mode="max",
        )  # fmt: skip
        self.input_ks = Gauge(
            "dockyard_input_drift_ks", "KS distance of a feature's recent inputs vs the baseline",
            labels, registry=registry, multiprocess_mode="max",
        )  # fmt: skip
        self.output_psi = Gauge(
            "dockyard_prediction_drift_baseline_psi",
            "PSI of recent predictions vs the baseline's predictions",
            labels, registry=registry, multiprocess_mode="max",
        )  # fmt: skip


class InputDrift:
    """The drift sink: windows per feature, scored on each tick of the recorder."""

    def __init__(
        self,
        baseline: Baseline | Callable[[], Baseline | None],
        window: int,
        metrics: DriftMetrics,
        max_per_s: int = 50,
    ) -> None:
        # A baseline computed from the project's data (no build-time file) takes a noticeable
        # part of a cold start: it is then made on the recorder's thread, on the first records,
        # after the service is ready.
        self.load = baseline if callable(baseline) else None
        self.baseline = None if callable(baseline) else baseline
        self.window, self.metrics = window, metrics
        self.inputs: dict[str, FeatureWindow] = {}
        self.outputs: dict[str, FeatureWindow] = {}
        if self.baseline is not None:
            self._windows(self.baseline)
        self.dirty = False
        # A window is a sample of recent traffic: at high rates most inputs are skipped, so
        # drift costs the same at 100 or 10,000 req/s.
        self.max_per_s, self.second, self.taken = max_per_s, 0, 0
        self.last_refresh = 0.0
        self.last: dict[str, dict[str, dict[str, float]]] = {"inputs": {}, "predictions": {}}

    def _windows(self, baseline: Baseline) -> None:
        self.inputs = {f.name: FeatureWindow(f, self.window) for f in baseline.inputs}
        self.outputs = {f.name: FeatureWindow(f, self.window) for f in baseline.predictions}

    def write(self, records: Sequence[Record]) -> None:
        if self.load is not None:
            load, self.load = self.load, None
            self.baseline = load()
            if self.baseline is not None:
                self._windows(self.baseline)
        for record in records:
            second = int(record.at)
            if second != self.second:
                self.second, self.taken = second, 0
            if self.taken >= self.max_per_s:
                continue
            self.taken += 1
            _add(self.inputs, record.input)
            _add(self.outputs, record.output)
            self.dirty = True

    def tick(self, now: float) -> None:
        if self.dirty and now - self.last_refresh >= REFRESH_S:
            self.dirty, self.last_refresh = False, now
            self.refresh()

    def refresh(self) -> dict[str, dict[str, dict[str, float]]]:
        """Score every full window, export the gauges; {"inputs"|"predictions": {feature: ...}}."""
        size = str(self.window)
        summary: dict[str, dict[str, dict[str, float]]] = {"inputs": {}, "predictions": {}}
        for part, windows in (("inputs", self.inputs), ("predictions", self.outputs)):
            for name, w in windows.items():
                if not w.full:
                    continue
                scores = summary[part][name] = w.scores()
                labels = (name, w.feature.kind, size)
                if part == "predictions":
                    self.metrics.output_psi.labels(*labels).set(scores["psi"])
                    continue
                self.metrics.input_psi.labels(*labels).set(scores["psi"])
                if "ks" in scores:
                    self.metrics.input_ks.labels(*labels).set(scores["ks"])
        self.last = summary  # read by the status page from other threads: replaced, not mutated
        return summary

    def close(self) -> None:
        pass


def _add(windows: dict[str, FeatureWindow], value: Any) -> None:
    if not windows:
        return
    for name, leaf in flatten(value).items():
        w = windows.get(name)
        if w is not None:
            w.add(leaf)
