"""Peak resident memory of this process over a block: what a model's setup and predict cost.

On Linux the block's own peak is exact: the high-water mark is reset to the current size when
the block begins (`/proc/self/clear_refs`) and read from `VmHWM` when it ends. Elsewhere the
fallback is the kernel's all-time peak (`ru_maxrss`), which is coarser: an earlier, higher
peak hides a smaller one (it reads 0), and after `exec` it starts at the *parent's* peak, so a
`dockyard predict` started from a large process (a test runner, a notebook kernel) reported
the parent's memory as the model's.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path
from types import TracebackType

PROC = Path("/proc/self")


class PeakRss:
    """`with PeakRss() as rss: ...` then `rss.delta` in bytes."""

    def __init__(self) -> None:
        self.before = 0
        self.delta = 0
        self.exact = False

    def __enter__(self) -> PeakRss:
        self.exact = reset_high_water()
        self.before = current_rss()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        peak = high_water() if self.exact else None
        self.delta = max(0, (peak if peak is not None else peak_rss()) - self.before)


def reset_high_water() -> bool:
    """Make the process's resident high-water mark its current size (Linux 4.0+)."""
    with contextlib.suppress(OSError):
        (PROC / "clear_refs").write_text("5")
        return high_water() is not None
    return False


def high_water() -> int | None:
    """The resident high-water mark (`VmHWM`) in bytes, or None where /proc has none."""
    with contextlib.suppress(OSError, ValueError):
        for line in (PROC / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def current_rss() -> int:
    """Resident bytes now (Linux `/proc/self/statm`; the peak where it is missing)."""
    try:
        with open(PROC / "statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def peak_rss() -> int:
    """The process's highest resident size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


__all__ = ["PeakRss", "current_rss", "high_water", "peak_rss", "reset_high_water"]
