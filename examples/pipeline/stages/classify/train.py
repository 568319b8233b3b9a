"""Train the classifier on a handful of labelled sentences: `python train.py` writes weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "clean"), str(HERE.parent / "features")]

from clean import clean  # noqa: E402
from features import DIM, vectorize  # noqa: E402

POSITIVE = [
    "I love this, it is wonderful",
    "great service and friendly staff",
    "what a fantastic day",
    "absolutely brilliant work",
    "this is the best thing ever",
    "happy with the result",
    "excellent quality, highly recommend",
    "such a lovely experience",
    "good value and fast",
    "amazing, I am delighted",
    "the food was great",
    "wonderful people, great fun",
]
NEGATIVE = [
    "I hate this, it is awful",
    "terrible service and rude staff",
    "what a horrible day",
    "absolutely useless work",
    "this is the worst thing ever",
    "unhappy with the result",
    "poor quality, do not buy",
    "such a miserable experience",
    "bad value and slow",
    "disappointing, I am angry",
    "the food was terrible",
    "awful people, no fun",
]


def train(epochs: int = 2000, rate: float = 0.5) -> dict[str, object]:
    """Plain gradient descent on the logistic loss; deterministic, so the file is reproducible."""
    texts = [clean(t) for t in POSITIVE + NEGATIVE]
    x = vectorize(texts)
    y = np.array([1.0] * len(POSITIVE) + [0.0] * len(NEGATIVE))
    w, b = np.zeros(DIM), 0.0
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        w -= rate * (x.T @ (p - y) / len(y) + 1e-3 * w)
        b -= rate * float(np.mean(p - y))
    return {"labels": ["negative", "positive"], "bias": round(b, 8),
            "weights": [round(float(v), 8) for v in w]}  # fmt: skip


if __name__ == "__main__":
    out = HERE / "artifacts" / "weights.json"
    out.write_text(json.dumps(train()) + "\n")
    print(f"wrote {out}")
