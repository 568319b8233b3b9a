"""Durable background jobs: the queue back end and the worker's behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import Section


class Worker(Section):
    """Queue back end and worker policy for the jobs pattern."""

    enabled: bool = False
    backend: Literal["sqlite", "redis", "memory"] = "sqlite"
    sqlite_path: str = "/data/jobs.sqlite3"
    redis_url: str = "redis://127.0.0.1:6379/0"
    batch_size: int | None = Field(
        default=None, ge=1, description="Default: serving.max_batch_size"
    )
    concurrency: int = Field(default=1, ge=1, le=64)
    prefetch: int = Field(default=0, ge=0)
    lease_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    backoff_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=300.0, ge=0)
    retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    replicas: int = Field(default=1, ge=0, le=1000)
    webhook_secret: str | None = Field(default=None, description="Name of a secret used to sign")
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    namespace: str = Field(
        default="dockyard", pattern=r"^[A-Za-z0-9_.:-]+$", description="Redis key prefix"
    )
    poll_s: float = Field(default=0.2, gt=0, le=60, description="Longest idle wait between claims")
    metrics_port: int = Field(default=9100, ge=0, le=65535, description="0 = no /metrics server")
    heartbeat_file: str = "/tmp/dockyard-worker.heartbeat"
    heartbeat_s: float = Field(default=5.0, gt=0, description="How often leases are renewed")
    stale_after_s: float = Field(default=30.0, gt=0, description="Heartbeat age that fails health")
