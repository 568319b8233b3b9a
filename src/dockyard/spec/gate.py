"""The CI gate of `dockyard test`: quality and latency bars the container must meet."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import Section


class Gate(Section):
    """Bars for `dockyard test`; parity with local code and non-root are always checked."""

    eval: str | None = Field(default=None, description='JSON Lines of {"input": ..., "label": ...}')
    metric: Literal["accuracy", "mae"] = Field(
        default="accuracy", description="Quality metric over eval"
    )
    field: str | None = Field(default="label", description="Output field compared with the label")
    threshold: float | None = Field(default=None, description="accuracy >= it, or mae <= it")
    latency_p95_ms: float | None = Field(
        default=None, gt=0, description="Fail when p95 latency is above it"
    )
    latency_requests: int = Field(default=200, ge=1, description="Requests of the latency check")
    latency_concurrency: int = Field(
        default=8, ge=1, description="Concurrent clients of the latency check"
    )
