"""Durable background jobs: the queue back end and the worker's behaviour."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import Section


class Worker(Section):
    """Queue back end and worker policy for the jobs pattern."""

    enabled: bool = Field(
        default=False, description="Serve /jobs and run `dockyard worker` processes"
    )
    backend: Literal["sqlite", "redis", "memory"] = Field(
        default="sqlite", description="Queue store: sqlite (one host), redis (many), memory (tests)"
    )
    sqlite_path: str = Field(
        default="/data/jobs.sqlite3", description="Queue database file (a volume in stacks)"
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis server of the redis backend"
    )
    batch_size: int | None = Field(
        default=None, ge=1, description="Default: serving.max_batch_size"
    )
    concurrency: int = Field(default=1, ge=1, le=64, description="Batches in flight per worker")
    prefetch: int = Field(
        default=0, ge=0, description="Extra jobs claimed ahead of the current batch"
    )
    lease_s: float = Field(
        default=60.0, gt=0, description="A worker silent this long loses its jobs to others"
    )
    max_attempts: int = Field(default=3, ge=1, description="Then the job is dead-lettered")
    backoff_s: float = Field(
        default=1.0, ge=0, description="First retry delay (doubles each attempt)"
    )
    backoff_max_s: float = Field(default=300.0, ge=0, description="Longest retry delay")
    retention_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How long finished jobs are kept"
    )
    replicas: int = Field(default=1, ge=0, le=1000, description="Worker containers in a stack")
    webhook_secret: str | None = Field(default=None, description="Name of a secret used to sign")
    webhook_max_attempts: int = Field(default=8, ge=1, description="Deliveries tried per webhook")
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="Per webhook delivery")
    namespace: str = Field(
        default="dockyard", pattern=r"^[A-Za-z0-9_.:-]+$", description="Redis key prefix"
    )
    poll_s: float = Field(default=0.2, gt=0, le=60, description="Longest idle wait between claims")
    metrics_port: int = Field(default=9100, ge=0, le=65535, description="0 = no /metrics server")
    heartbeat_file: str = Field(
        default="/tmp/dockyard-worker.heartbeat",
        description="File the worker touches; its age is the health check",
    )
    heartbeat_s: float = Field(default=5.0, gt=0, description="How often leases are renewed")
    stale_after_s: float = Field(default=30.0, gt=0, description="Heartbeat age that fails health")
