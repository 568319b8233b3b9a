"""Handwritten digit classifier (scikit-learn LogisticRegression on the 8x8 digits dataset)."""

from __future__ import annotations

from typing import Annotated

import joblib
import numpy as np
from pydantic import BaseModel, Field

from dockyard import Model

# 64 pixel intensities (0-16) of an 8x8 image, row by row.
Pixels = Annotated[list[float], Field(min_length=64, max_length=64)]


class Prediction(BaseModel):
    label: int
    probability: float


class DigitsModel(Model[Pixels, Prediction]):
    def setup(self) -> None:
        self.clf = joblib.load(self.artifacts["weights"])

    def predict(self, batch: list[Pixels]) -> list[Prediction]:
        proba = self.clf.predict_proba(np.asarray(batch, dtype=np.float64))
        best = proba.argmax(axis=1)
        labels = self.clf.classes_[best].tolist()
        probs = proba[np.arange(len(best)), best].tolist()
        return [
            Prediction(label=label, probability=p) for label, p in zip(labels, probs, strict=True)
        ]
