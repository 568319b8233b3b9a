"""The drift baseline: what each input feature (and prediction) looked like on the eval data.

Pure functions over JSON data, so the build step writes the baseline without running a server and
the service reads it back. Features come from flattening an input: object keys by name, short
numeric lists by index (`x[3]`), long numeric lists as an embedding, strings as categories or as
text. Each feature keeps what its drift statistics need: quantile edges and bin shares (PSI),
201 quantiles (KS), category shares, or a vocabulary and the embedding centroid.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from dockyard.spec import Spec

Kind = Literal["numeric", "categorical", "text", "embedding"]
BASELINE_FILE = "dockyard.baseline.json"
EMBEDDING_DIMS = 64  # numeric lists longer than this are embeddings, not features per index
MAX_CATEGORIES = 20  # more distinct values than this: text (strings) or numeric (numbers)
QUANTILES = 201
VOCABULARY = 2000
OTHER = "__other__"
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Feature:
    """One monitored feature and its baseline distribution."""

    name: str
    kind: Kind
    edges: tuple[float, ...] = ()  # numeric bins: v falls in bin bisect_left(edges, v)
    shares: dict[str, float] = field(default_factory=dict)  # bin index or category -> share
    quantiles: tuple[float, ...] = ()
    vocabulary: tuple[str, ...] = ()  # text
    centroid: tuple[float, ...] = ()  # embedding


@dataclass(frozen=True)
class Baseline:
    """Per-feature baselines of inputs and of predictions, tied to the spec they came from."""

    spec_sha256: str
    source: str
    rows: int
    inputs: tuple[Feature, ...]
    predictions: tuple[Feature, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")) + "\n"


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file written by `write_baseline` (ValueError when malformed)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    inputs, predictions = (tuple(map(_feature_of, raw[k])) for k in ("inputs", "predictions"))
    return Baseline(raw["spec_sha256"], raw["source"], raw["rows"], inputs, predictions)


def _feature_of(raw: dict[str, Any]) -> Feature:
    return Feature(
        name=raw["name"],
        kind=raw["kind"],
        edges=tuple(raw.get("edges", ())),
        shares=dict(raw.get("shares", {})),
        quantiles=tuple(raw.get("quantiles", ())),
        vocabulary=tuple(raw.get("vocabulary", ())),
        centroid=tuple(raw.get("centroid", ())),
    )


# ---- flattening -------------------------------------------------------------------------------
def flatten(value: Any, prefix: str = "x") -> dict[str, Any]:
    """Leaves of one input by feature name; long numeric lists stay whole (embeddings)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if prefix == "x" else f"{prefix}.{key}"
            out.update(flatten(item, name))
        return out
    if isinstance(value, list):
        if len(value) > EMBEDDING_DIMS and all(_is_number(v) for v in value):
            return {prefix: value}
        out = {}
        for i, item in enumerate(value[:EMBEDDING_DIMS]):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


# ---- building ---------------------------------------------------------------------------------
def describe(rows: Sequence[Any], bins: int, max_features: int) -> tuple[Feature, ...]:
    """The baseline of every feature seen in `rows` (at most `max_features`, by first seen)."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for name, value in flatten(row).items():
            if name in columns or len(columns) < max_features:
                columns.setdefault(name, []).append(value)
    return tuple(f for name, vs in columns.items() if (f := _feature(name, vs, bins)) is not None)


def _feature(name: str, values: list[Any], bins: int) -> Feature | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    if all(isinstance(v, list) for v in values):
        return _embedding(name, values)
    distinct = set(map(_category, values))
    if len(distinct) <= MAX_CATEGORIES and not all(isinstance(v, float) for v in values):
        return Feature(name, "categorical", shares=_category_shares(values, distinct))
    if all(_is_number(v) for v in values):
        return numeric(name, [float(v) for v in values], bins)
    if all(isinstance(v, str) for v in values):
        counts = Counter(t for v in values for t in tokens(v))
        vocabulary = tuple(sorted(t for t, _ in counts.most_common(VOCABULARY)))
        return Feature(name, "text", vocabulary=vocabulary, **_numeric_parts(
            [text_score(v, set(vocabulary)) for v in values], bins))  # fmt: skip
    return None


def _category(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _category_shares(values: list[Any], known: Iterable[str]) -> dict[str, float]:
    counts = Counter(map(_category, values))
    return {key: counts[key] / len(values) for key in sorted(known)}


def numeric(name: str, values: list[float], bins: int) -> Feature:
    return Feature(name, "numeric", **_numeric_parts(values, bins))


def _numeric_parts(values: list[float], bins: int) -> dict[str, Any]:
    ordered = sorted(values)
    inner = {_quantile(ordered, i / bins) for i in range(1, bins)}
    edges = tuple(sorted(inner))
    shares = bin_shares(values, edges)
    quantiles = tuple(_quantile(ordered, i / (QUANTILES - 1)) for i in range(QUANTILES))
    return {"edges": edges, "shares": shares, "quantiles": quantiles}


def _embedding(name: str, vectors: list[list[float]]) -> Feature:
    dims = len(vectors[0])
    centroid = tuple(sum(v[i] for v in vectors) / len(vectors) for i in range(dims))
    scores = [cosine(v, centroid) for v in vectors]
    return Feature(name, "embedding", centroid=centroid, **_numeric_parts(scores, 10))


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bin_shares(values: Iterable[float], edges: Sequence[float]) -> dict[str, float]:
    counts = Counter(bisect_left(edges, v) for v in values)
    total = sum(counts.values()) or 1
    return {str(i): counts[i] / total for i in range(len(edges) + 1)}


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0 for a zero vector."""
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def text_score(text: str, vocabulary: set[str]) -> float:
    """Share of a text's tokens outside the baseline vocabulary (0 = all familiar)."""
    words = tokens(text)
    return sum(w not in vocabulary for w in words) / len(words) if words else 0.0


# ---- from the project -------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, Any]]:
    """JSON lines (or a JSON list) of objects, e.g. the gate's eval set or golden samples."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        rows: list[Any] = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [r for r in rows if isinstance(r, dict)]


def build_baseline(
    spec_sha256: str,
    sources: Sequence[tuple[str, list[dict[str, Any]]]],
    label_field: str | None,
    bins: int,
    max_features: int,
) -> Baseline | None:
    """Inputs from every source row; predictions from golden outputs and eval labels.

    Eval labels stand for the predictions a model at its gate's accuracy makes on that data:
    building a baseline must not need the model running.
    """
    inputs = [r["input"] for _, rows in sources for r in rows if "input" in r]
    if not inputs:
        return None
    outputs: list[Any] = []
    for _, rows in sources:
        for r in rows:
            if "output" in r:
                outputs.append(r["output"])
            elif "label" in r:
                outputs.append({label_field: r["label"]} if label_field else r["label"])
    return Baseline(
        spec_sha256=spec_sha256,
        source=", ".join(name for name, _ in sources),
        rows=len(inputs),
        inputs=describe(inputs, bins, max_features),
        predictions=describe(outputs, bins, max_features) if outputs else (),
    )


def baseline_sources(spec: Spec, root: Path) -> list[str]:
    """The project's files a baseline is made from: drift.data (else gate.eval), golden."""
    names = (spec.monitoring.drift.data or spec.gate.eval, spec.health.golden)
    return [n for n in names if n and (root / n).is_file()]


def baseline_for(spec: Spec, root: Path) -> Baseline | None:
    """The project's baseline: drift.data (else gate.eval) plus the golden samples."""
    cfg = spec.monitoring.drift
    sources = [(n, read_rows(root / n)) for n in baseline_sources(spec, root)]
    return build_baseline(spec.digest(), sources, spec.gate.field, cfg.bins, cfg.max_features)
