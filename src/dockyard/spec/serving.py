"""How the API service serves: batching, queue bound, timeouts, limits, health canary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import ByteSize, Section


class Serving(Section):
    """HTTP and batching settings of the API service."""

    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)
    max_batch_size: int = Field(default=64, ge=1, le=65536)
    # 0 = adaptive: a batch is dispatched as soon as the model is free, so a lone request pays
    # no waiting tax; >0 additionally holds a partial batch up to this long to grow it.
    max_batch_wait_ms: float = Field(default=0.0, ge=0, le=10_000)
    queue_size: int = Field(default=1024, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: ByteSize = Field(default=1024 * 1024, ge=1)
    workers: int = Field(default=1, ge=1, le=64)
    access_log: bool = True
    # Where predict(batch) runs: "auto" calls a fast model (batches under ~1 ms) directly on the
    # event loop, which saves two thread hops per batch, and a slower one on the model thread so
    # probes and new requests are served meanwhile; "thread" always uses the model thread.
    executor: Literal["auto", "thread"] = "auto"
    graceful_timeout_s: float = Field(default=30.0, ge=0)


class Tolerance(Section):
    """How close a prediction must be to a golden output: |a-b| <= atol + rtol*|b|."""

    atol: float = Field(default=1e-6, ge=0)
    rtol: float = Field(default=1e-4, ge=0)


class Health(Section):
    """AI-aware readiness: a canary prediction on golden samples must match."""

    golden: str | None = None
    tolerance: Tolerance = Tolerance()
    canary_interval_s: float = Field(default=0.0, ge=0, description="0 = only at start-up")
