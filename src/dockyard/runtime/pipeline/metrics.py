"""Per-stage Prometheus metrics: throughput and failures, latency, and queue depth per state.

Counters and histograms live where the work happens (each stage process); queue depth is read
from the queues at scrape time, so the front, which opens every stage's queue, shows all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from dockyard.runtime.queue import JobQueue, JobState

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


class PipelineMetrics:
    """The pipeline's series, in a registry of their own, each labelled by stage."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.items = Counter(
            "dockyard_pipeline_items",
            "Items a stage processed, by outcome: ok, or failed (each failed attempt)",
            ["stage", "outcome"],
            registry=r,
        )
        self.process_seconds = Histogram(
            "dockyard_pipeline_process_seconds",
            "Time a stage's predict call took per batch",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "dockyard_pipeline_latency_seconds",
            "Submission to the end of a stage (at the last stage: the whole pipeline)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def watch(self, queues: Callable[[], Sequence[tuple[str, JobQueue]]]) -> None:
        """Report the depth of these queues on every scrape."""
        self.registry.register(QueueDepth(queues))


class QueueDepth(Collector):
    """`dockyard_pipeline_queue{stage, state}` read from each queue's stats when scraped."""

    def __init__(self, queues: Callable[[], Sequence[tuple[str, JobQueue]]]) -> None:
        self.queues = queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "dockyard_pipeline_queue",
            "Items in each stage's queue per state (dead = dead-lettered)",
            labels=["stage", "state"],
        )
        for stage, queue in self.queues():
            stats = queue.stats()
            for state in JobState:
                family.add_metric([stage, state.value], stats.count(state))
        yield family
