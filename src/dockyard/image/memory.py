"""Does the spec's memory limit leave the model room? Measured peak vs `resources.memory`.

The margin asked for is 25% of the measured peak plus 64 MiB: the peak is measured on the golden
samples, while production sees full `max_batch_size` batches, concurrent requests and allocator
fragmentation (the 25%), and the server's own buffers, threads and the health and metrics
endpoints (the 64 MiB). A limit under that is an OOM kill waiting for a busy hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024**2
RELATIVE_MARGIN = 0.25
FIXED_MARGIN = 64 * MIB


@dataclass(frozen=True)
class MemoryAdvice:
    """The measured peak, the limit, and the limit to suggest when the margin is too thin."""

    peak: int
    limit: int
    needed: int

    @property
    def enough(self) -> bool:
        return self.limit >= self.needed

    def message(self) -> str:
        """One line for the user: the numbers, and what to set."""
        head = f"peak memory {mib(self.peak)}, limit {mib(self.limit)}"
        if self.enough:
            return f"{head}: margin ok"
        return (
            f"warning: {head}: less than the safe margin (peak + 25% + 64 MiB = "
            f'{mib(self.needed)}); set resources.memory = "{suggest(self.peak)}"'
        )


def needed(peak: int) -> int:
    """The smallest limit with the safe margin over `peak`."""
    return math.ceil(peak * (1 + RELATIVE_MARGIN)) + FIXED_MARGIN


def suggest(peak: int) -> str:
    """A limit to write in the spec: the needed size rounded up to 64 MiB."""
    step = 64 * MIB
    return f"{math.ceil(needed(peak) / step) * step // MIB}m"


def advise(peak: int, limit: int) -> MemoryAdvice:
    """Compare a measured peak with the spec's limit (bytes both)."""
    return MemoryAdvice(peak, limit, needed(peak))


def mib(n: int) -> str:
    """Bytes as whole MiB, for messages."""
    return f"{n / MIB:.0f} MiB"


__all__ = ["MemoryAdvice", "advise", "mib", "needed", "suggest"]
