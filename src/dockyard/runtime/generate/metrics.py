"""Prometheus metrics of generations, registered beside the service's own metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dockyard.runtime.metrics import BATCH_BUCKETS, LATENCY_BUCKETS

STEP_BUCKETS = (0, 1, 2, 4, 8, 16, 32, 64, 128)


class GenerationMetrics:
    """Time to first chunk, time per chunk, throughput, batch membership, cancellations."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.ttft = Histogram(
            "dockyard_generation_time_to_first_chunk_seconds",
            "From submission to the first chunk of a sequence",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.per_chunk = Histogram(
            "dockyard_generation_time_per_chunk_seconds",
            "Between consecutive chunks of one sequence",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.chunks = Counter(
            "dockyard_generation_chunks", "Chunks generated (rate() = chunks/s)", registry=r
        )
        self.chunks_per_second = Gauge(
            "dockyard_generation_chunks_per_second",
            "Chunks per second of the last step",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.active = Gauge(
            "dockyard_generation_active_sequences",
            "Sequences in the running batch",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.waiting = Gauge(
            "dockyard_generation_waiting_sequences",
            "Sequences waiting to join the batch",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.steps = Counter("dockyard_generation_steps", "Model steps run", registry=r)
        self.step_time = Histogram(
            "dockyard_generation_step_duration_seconds",
            "Time of one model step (all active sequences)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.step_size = Histogram(
            "dockyard_generation_step_batch_size",
            "Sequences advanced per step",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.joined = Histogram(
            "dockyard_generation_joined_per_step",
            "Sequences that joined the batch at a step",
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.left = Histogram(
            "dockyard_generation_left_per_step",
            "Sequences that left the batch after a step (finished, cancelled, failed)",
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.finished = Counter(
            "dockyard_generation_finished",
            "Sequences ended, by finish reason",
            ["reason"],
            registry=r,
        )
        self.cancelled = Counter(
            "dockyard_generation_cancelled",
            "Sequences cancelled before they finished, by cause",
            ["cause"],
            registry=r,
        )
