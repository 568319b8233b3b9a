"""How the API service serves: batching, queue bound, timeouts, limits, health canary."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import ByteSize, Section

MIN_BODY = 1024**2
MAX_DEFAULT_BODY = 64 * 1024**2


class Serving(Section):
    """HTTP and batching settings of the API service."""

    host: str = Field(default="0.0.0.0", description="Bind address inside the container")
    port: int = Field(default=8000, ge=1, le=65535, description="HTTP port of the API")
    max_batch_size: int = Field(
        default=64, ge=1, le=65536, description="Most inputs per predict() call"
    )
    # 0 = adaptive: a batch is dispatched as soon as the model is free, so a lone request pays
    # no waiting tax; >0 additionally holds a partial batch up to this long to grow it.
    max_batch_wait_ms: float = Field(
        default=0.0,
        ge=0,
        le=10_000,
        description="0 = adaptive (a lone request never waits); >0 holds partial batches",
    )
    queue_size: int = Field(
        default=1024,
        ge=1,
        description="Inputs waiting for the model; beyond it 503 with Retry-After",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, description="A request not answered within it gets 504"
    )
    max_body_bytes: ByteSize | None = Field(
        default=None,
        ge=1,
        description="Largest request body (413 above it); default: 2 x max_batch_size x the JSON "
        "size of one typical input (estimated from the model's input type: numbers 24 B, texts "
        "4 KiB, arrays 1,024 items), kept between 1 MiB and 64 MiB",
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="Server processes (metrics are summed across them)"
    )
    access_log: bool = Field(
        default=True, description="One JSON line per request (never the payload)"
    )
    # Where the model runs: "auto" calls a fast model (batches under ~1 ms) directly on the
    # event loop, which saves two thread hops per batch, a slower one on the model thread so
    # probes and new requests are served meanwhile, and a generative model in a process of its
    # own, so its steps never wait for the GIL behind the server's per-chunk work; "thread"
    # always uses the model thread in the server's process.
    executor: Literal["auto", "thread"] = Field(
        default="auto",
        description="auto: fast models run on the event loop, generative models in their own "
        "process; thread: always the model thread in the server's process",
    )
    graceful_timeout_s: float = Field(
        default=30.0, ge=0, description="SIGTERM: how long in-flight work may finish"
    )
    expose_errors: bool = Field(
        default=False,
        description="Send a model's exception text to callers (development only); otherwise "
        "they get a generic message with the request id and the log keeps the details",
    )

    def body_limit(self, item_bytes: int) -> int:
        """max_body_bytes, else room for two full batches of typical items, within 1-64 MiB.

        `item_bytes` is the JSON size of one typical input (the runtime derives it from the
        model's input type), so a model taking long vectors or texts gets a larger default.
        """
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return min(max(2 * self.max_batch_size * item_bytes, MIN_BODY), MAX_DEFAULT_BODY)


class Tolerance(Section):
    """How close a prediction must be to a golden output: |a-b| <= atol + rtol*|b|."""

    atol: float = Field(default=1e-6, ge=0, description="Absolute tolerance")
    rtol: float = Field(default=1e-4, ge=0, description="Relative tolerance")


class Health(Section):
    """AI-aware readiness: a canary prediction on golden samples must match."""

    golden: str | None = Field(
        default=None,
        description="JSON Lines of {input, output}: the readiness canary (`dockyard golden`)",
    )
    tolerance: Tolerance = Field(
        default=Tolerance(),
        description="How close canary outputs must be: |a-b| <= atol + rtol*|b|",
    )
    canary_interval_s: float = Field(default=0.0, ge=0, description="0 = only at start-up")
    setup_failure_exit_s: float = Field(
        default=5.0,
        ge=0,
        description="After setup() fails, /healthz answers 503 and the server exits (code 3) "
        "this many seconds later, so a restart policy or kubelet acts",
    )
