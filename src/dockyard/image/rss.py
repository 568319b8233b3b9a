"""Peak resident memory of this process over a block: what a model's setup and predict cost.

The kernel keeps one all-time peak per process (`ru_maxrss`), so the delta is that peak minus the
resident size when the block began; an earlier, higher peak hides a smaller one (it reads 0).
"""

from __future__ import annotations

import os
import resource
from types import TracebackType


class PeakRss:
    """`with PeakRss() as rss: ...` then `rss.delta` in bytes."""

    def __init__(self) -> None:
        self.before = 0
        self.delta = 0

    def __enter__(self) -> PeakRss:
        self.before = current_rss()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.delta = max(0, peak_rss() - self.before)


def current_rss() -> int:
    """Resident bytes now (Linux `/proc/self/statm`; the peak where it is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def peak_rss() -> int:
    """The process's highest resident size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


__all__ = ["PeakRss", "current_rss", "peak_rss"]
