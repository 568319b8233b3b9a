"""Every change to the routing table goes through here, so metrics and logs always follow it.

Changes come from three places: the readiness poller, the admin endpoint and the weights file.
"""

from __future__ import annotations

import asyncio
import logging

from dockyard.runtime.router.metrics import RouterMetrics
from dockyard.runtime.router.table import RoutingTable
from dockyard.runtime.router.upstream import Upstreams
from dockyard.runtime.router.weights import WeightsError, WeightsFile, parse_weights

log = logging.getLogger("dockyard.router")


class Control:
    """Applies readiness results and weight updates to the table."""

    def __init__(self, table: RoutingTable, metrics: RouterMetrics) -> None:
        self.table, self.metrics = table, metrics
        for name, weight in table.weights.items():
            metrics.weight.labels(name).set(weight)
            metrics.up.labels(name).set(0)

    def set_up(self, name: str, up: bool) -> None:
        """Put a version in rotation (it answered ready) or take it out (it did not)."""
        if self.table.mark(name, up):
            self.metrics.up.labels(name).set(1 if up else 0)
            message = "version ready" if up else "version unready: out of rotation"
            log.log(logging.INFO if up else logging.WARNING, message, extra={"version": name})

    def set_weights(self, raw: object, source: str) -> dict[str, float]:
        """Validate and apply `{name: weight}`; raises WeightsError listing every problem."""
        try:
            weights = parse_weights(raw, set(self.table.names), self.table.weights)
        except WeightsError:
            self.metrics.reloads.labels(source, "refused").inc()
            raise
        self.table.set_weights(weights)
        for name, weight in weights.items():
            self.metrics.weight.labels(name).set(weight)
        self.metrics.reloads.labels(source, "applied").inc()
        log.info("weights changed", extra={"source": source, "weights": self.table.weights})
        return weights

    async def poll_health(self, upstreams: Upstreams, interval_s: float, timeout_s: float) -> None:
        """Probe every version's /readyz each interval, for ever (the first probe at once)."""
        names = self.table.names
        while True:
            results = await asyncio.gather(*(upstreams.ready(name, timeout_s) for name in names))
            for name, up in zip(names, results, strict=True):
                self.set_up(name, up)
            await asyncio.sleep(interval_s)

    async def watch_file(self, file: WeightsFile, interval_s: float) -> None:
        """Apply the weights file whenever it changes, for ever."""
        while True:
            self.reload(file)
            await asyncio.sleep(interval_s)

    def reload(self, file: WeightsFile) -> None:
        """Apply the weights file if it changed; a bad file is logged, counted and ignored."""
        raw: object = None
        try:
            raw = file.changed()
            if raw is not None:
                self.set_weights(raw, "file")
        except WeightsError as exc:
            if raw is None:  # unreadable JSON; set_weights counts the refusals it makes itself
                self.metrics.reloads.labels("file", "refused").inc()
            log.error("weights file refused", extra={"file": str(file.path), "error": str(exc)})
