"""Prediction drift: how far the recent class distribution moved from a reference window.

The reference is the first `window` predictions after start-up (the model's behaviour on the
traffic it was deployed into); the current window slides over the most recent `window`. Their
population stability index (PSI) is exported: < 0.1 stable, 0.1-0.25 shifting, > 0.25 drifted.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable

SMOOTHING = 1e-4


class DriftMonitor:
    """Keeps class counts for a reference window and a sliding current window."""

    def __init__(self, window: int = 1000) -> None:
        self.window = window
        self.reference: Counter[str] | None = None
        self.recent: deque[str] = deque()
        self.counts: Counter[str] = Counter()

    def observe(self, labels: Iterable[object]) -> None:
        """Add predicted labels; the first full window becomes the reference."""
        for label in labels:
            key = str(label)
            self.recent.append(key)
            self.counts[key] += 1
            if len(self.recent) > self.window:
                self.counts[self.recent.popleft()] -= 1
            if self.reference is None and len(self.recent) == self.window:
                self.reference = Counter(self.counts)

    def psi(self) -> float | None:
        """Population stability index of current vs reference, None until both exist."""
        if self.reference is None or not self.recent:
            return None
        total_ref, total_cur = sum(self.reference.values()), len(self.recent)
        score = 0.0
        for key in set(self.reference) | {k for k, v in self.counts.items() if v}:
            ref = max(self.reference.get(key, 0) / total_ref, SMOOTHING)
            cur = max(self.counts.get(key, 0) / total_cur, SMOOTHING)
            score += (cur - ref) * math.log(cur / ref)
        return score
