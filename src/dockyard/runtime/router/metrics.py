"""Prometheus metrics of the router: traffic and latency per version, shadow agreement, health."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from dockyard.runtime.metrics import LATENCY_BUCKETS


class RouterMetrics:
    """Every metric the router exports, in its own registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dockyard_router_requests",
            "Requests answered, by the version that answered and its status",
            ["version", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "dockyard_router_upstream_duration_seconds",
            "Time a version took to answer a forwarded request (role: primary or shadow)",
            ["version", "role"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "dockyard_router_retries",
            "Requests answered by another version after the first failed (router.retry)",
            ["failed", "answered"],
            registry=r,
        )
        self.rejected = Counter(
            "dockyard_router_rejected",
            "Requests the router answered itself with an error",
            ["reason"],
            registry=r,
        )
        self.shadow = Counter(
            "dockyard_router_shadow",
            "Shadow copies by outcome (agree, disagree, error, dropped)",
            ["primary", "shadow", "outcome"],
            registry=r,
        )
        self.agreement = Gauge(
            "dockyard_router_shadow_agreement_ratio",
            "Share of compared shadow answers that matched the primary's",
            ["primary", "shadow"],
            registry=r,
        )
        self.up = Gauge(
            "dockyard_router_version_up", "1 when the version is ready", ["version"], registry=r
        )
        self.weight = Gauge(
            "dockyard_router_version_weight", "Configured weight", ["version"], registry=r
        )
        self.reloads = Counter(
            "dockyard_router_weight_updates",
            "Weight updates by source (admin, file) and result (applied, refused)",
            ["source", "result"],
            registry=r,
        )
        self._compared: Tally[tuple[str, str, bool]] = Tally()

    def compared(self, primary: str, shadow: str, agree: bool) -> None:
        """Count one comparison and refresh the pair's agreement ratio."""
        self.shadow.labels(primary, shadow, "agree" if agree else "disagree").inc()
        self._compared[primary, shadow, agree] += 1
        agreed = self._compared[primary, shadow, True]
        self.agreement.labels(primary, shadow).set(
            agreed / (agreed + self._compared[primary, shadow, False])
        )

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
