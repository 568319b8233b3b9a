"""Digits, served from the newest published version; a new version is picked up by itself."""

from __future__ import annotations

from typing import Annotated

import joblib
import numpy as np
from pydantic import BaseModel, Field

from dockyard import Model

Pixels = Annotated[list[float], Field(min_length=64, max_length=64)]


class Prediction(BaseModel):
    label: int
    probability: float
    version: str


class Digits(Model[Pixels, Prediction]):
    def setup(self) -> None:
        self.version = ""
        self._load()

    def _load(self) -> None:
        """Load the version `current` names, if it is not the one already loaded."""
        directory = self.artifacts["digits"]
        version = (directory / "current").read_text().strip()
        if version != self.version:
            self.clf = joblib.load(directory / version / "model.joblib")
            self.version = version

    def predict(self, batch: list[Pixels]) -> list[Prediction]:
        self._load()  # one small file read per batch: how a retrain reaches the service
        proba = self.clf.predict_proba(np.asarray(batch, dtype=np.float64))
        best = proba.argmax(axis=1)
        return [
            Prediction(
                label=int(self.clf.classes_[i]), probability=float(p[i]), version=self.version
            )
            for i, p in zip(best, proba, strict=True)
        ]
