"""Stage 3: logistic regression over the features; weights are a JSON artifact."""

from __future__ import annotations

import json

import numpy as np
from pydantic import BaseModel

from dockyard import Model


class Prediction(BaseModel):
    label: str
    probability: float


class Classifier(Model[list[float], Prediction]):
    def setup(self) -> None:
        data = json.loads(self.artifacts["weights"].read_text())
        self.weights = np.asarray(data["weights"], dtype=np.float64)
        self.bias = float(data["bias"])
        self.labels: list[str] = data["labels"]

    def predict(self, batch: list[list[float]]) -> list[Prediction]:
        scores = np.asarray(batch, dtype=np.float64) @ self.weights + self.bias
        positive = 1.0 / (1.0 + np.exp(-scores))
        return [
            Prediction(label=self.labels[int(p >= 0.5)], probability=float(max(p, 1 - p)))
            for p in positive
        ]
