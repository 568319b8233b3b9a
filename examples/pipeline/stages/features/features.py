"""Stage 2: a hashing vectorizer (words and bigrams, signed, L2-normalised)."""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from dockyard import Model

DIM = 256


class Features(Model[str, list[float]]):
    def predict(self, batch: list[str]) -> list[list[float]]:
        return vectorize(batch).tolist()  # type: ignore[no-any-return]


def vectorize(texts: list[str], dim: int = DIM) -> np.ndarray:
    """One row per text; crc32, not hash(), so every process agrees on the columns."""
    out = np.zeros((len(texts), dim), dtype=np.float64)
    for row, text in enumerate(texts):
        words = text.split()
        for token in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
            code = zlib.crc32(token.encode())
            out[row, code % dim] += 1.0 if code & 0x80000000 else -1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)
