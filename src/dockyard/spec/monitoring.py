"""Model monitoring: ground-truth feedback, payload logging, input drift and alert thresholds."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from dockyard.spec.base import ByteSize, Section

_FIELD_PATH = re.compile(r"^(input|output)(\.[A-Za-z0-9_-]+|\[\d+\])*$")
_DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")


class Feedback(Section):
    """POST /feedback joins true values to logged predictions; rolling quality per version."""

    enabled: bool = Field(default=True, description="Accept ground truth at POST /feedback")
    # auto: Redis when the stack runs a Redis queue (replicas share it), else SQLite.
    store: Literal["auto", "sqlite", "redis", "memory"] = Field(
        default="auto",
        description="Where predictions wait for labels (auto: Redis in Redis stacks)",
    )
    path: str | None = Field(
        default=None,
        description="SQLite file (default .dockyard/monitor/ locally, /tmp/dockyard in images)",
    )
    redis_url: str | None = Field(default=None, description="Default: the worker's redis_url")
    retention_s: float = Field(default=7 * 86400, gt=0, description="Forget older predictions")
    max_predictions: int = Field(default=200_000, ge=1, description="Bound of the store")
    sample: float = Field(default=1.0, ge=0, le=1, description="Share of predictions recorded")
    queue_size: int = Field(default=10_000, ge=1, description="Recorder backlog; beyond: dropped")
    window: int = Field(default=1000, ge=1, description="Labelled predictions per rolling score")
    metric: Literal["auto", "accuracy", "mae", "rmse", "custom"] = Field(
        default="auto", description="auto = the gate's metric; custom = Model.feedback_metric"
    )
    field: str | None = Field(default=None, description="Output field scored (default gate.field)")


class PayloadLog(Section):
    """Opt-in JSON lines of inputs and outputs, sampled, redacted and size-capped."""

    enabled: bool = Field(default=False, description="Log inputs and outputs (never by default)")
    path: str | None = Field(default=None, description="Default .dockyard/monitor/payloads.jsonl")
    stdout: bool = Field(default=False, description="Write the lines to stdout instead of a file")
    sample: float = Field(default=1.0, ge=0, le=1, description="Share of requests logged")
    max_bytes: ByteSize = Field(
        default=10 * 1024 * 1024, ge=1024, description="Size at which the log file rotates"
    )
    backups: int = Field(default=5, ge=1, le=100, description="Rotated files kept")
    redact: tuple[str, ...] = Field(
        default=(), description="Field paths never written, e.g. 'input.email' or 'output.score'"
    )

    @field_validator("redact")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not _FIELD_PATH.match(path):
                raise ValueError(
                    f"field paths starting with 'input' or 'output', like 'input.email' "
                    f"or 'input[3]' (got {path!r})"
                )
        return value


class InputDrift(Section):
    """Per-feature drift of recent inputs (and predictions) against the build-time baseline."""

    enabled: bool = Field(default=True, description="Compare live inputs with the baseline")
    baseline: str | None = Field(
        default=None, description="Baseline JSON (default .dockyard/baseline.json, from build)"
    )
    data: str | None = Field(default=None, description="JSON lines of inputs (default gate.eval)")
    window: int = Field(default=500, ge=10, description="Recent inputs compared with the baseline")
    max_per_s: int = Field(
        default=50, ge=1, description="Inputs per second taken into the windows (a sample)"
    )
    bins: int = Field(default=10, ge=2, le=100, description="Histogram bins of numeric features")
    max_features: int = Field(default=128, ge=1, description="Features tracked at most")
    psi_threshold: float = Field(default=0.25, gt=0, description="PSI that counts as drift")
    ks_threshold: float = Field(
        default=0.3, gt=0, le=1, description="KS statistic that counts as drift"
    )


class Alerts(Section):
    """Thresholds of the Prometheus rules that `dockyard monitor` writes."""

    error_rate: float = Field(
        default=0.05, gt=0, le=1, description="5xx share that fires the error alert"
    )
    latency_p95_ms: float | None = Field(default=None, gt=0, description="Default gate's SLO")
    queue_age_s: float = Field(default=30.0, gt=0, description="Oldest queued job age that alerts")
    heartbeat_s: float = Field(default=60.0, gt=0, description="Worker heartbeat age that alerts")
    accuracy_min: float | None = Field(default=None, description="Default the gate's threshold")
    coverage_min: float = Field(default=0.0, ge=0, le=1, description="0 = no coverage alert")
    for_: str = Field(
        default="5m",
        alias="for",
        pattern=r"^\d+[smh]$",
        description="How long a condition holds before an alert fires",
    )


class Grafana(Section):
    """Grafana in the stack (`dockyard up --monitoring`), for engines that can pull its image."""

    image: str | None = Field(
        default=None,
        description="Grafana image by digest (grafana/grafana-oss:12.0.0@sha256:...); unset: none",
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Port on 127.0.0.1 (default: an ephemeral one)"
    )
    user: str = Field(default="472", description="uid the Grafana image runs as (reads the secret)")

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        if value is not None and not _DIGEST.match(value):
            raise ValueError(
                "an image pinned by digest, NAME[:TAG]@sha256:<64 hex> "
                f"(`docker inspect --format '{{{{.RepoDigests}}}}' IMAGE`; got {value!r})"
            )
        return value


class Monitoring(Section):
    """The [monitoring] table."""

    feedback: Feedback = Feedback()
    payload_log: PayloadLog = PayloadLog()
    drift: InputDrift = InputDrift()
    alerts: Alerts = Alerts()
    grafana: Grafana = Grafana()
