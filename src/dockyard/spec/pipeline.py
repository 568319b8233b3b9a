"""Preprocessing pipelines: ordered stages, each its own project, image and container.

A stage is a directory holding a Dockyard project of its own (dockyard.toml, model class,
requirements, artifacts), so it builds, serves and gate-tests alone with the usual commands.
The pipeline table wires the stages together with durable queues and sets each one's policy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from dockyard.spec.base import Section

STAGE_NAME = r"^[a-z][a-z0-9-]{0,30}$"
FRONT = "front"


class Stage(Section):
    """One stage: a project directory whose model runs as a queue worker, and its policy."""

    name: str = Field(pattern=STAGE_NAME, description="Service, queue and metric label")
    path: str = Field(description="The stage's project directory, relative to this project")
    replicas: int = Field(default=1, ge=0, le=1000, description="Containers of this stage")
    batch_size: int = Field(default=16, ge=1, le=65536, description="Items per predict call")
    concurrency: int = Field(default=1, ge=1, le=64, description="Batches in flight per replica")
    max_attempts: int = Field(default=3, ge=1, description="Then the item is dead-lettered")
    lease_s: float = Field(default=30.0, gt=0, description="A replica silent this long loses it")
    backoff_s: float = Field(
        default=0.5, ge=0, description="First retry delay (doubles each attempt)"
    )
    backoff_max_s: float = Field(default=60.0, ge=0, description="Longest retry delay")


class Pipeline(Section):
    """Stages in order; each stage's output is the next one's input, the last one's the result."""

    stages: tuple[Stage, ...] = Field(default=(), description="The stages, in order")
    mode: Literal["sync", "job"] = Field(
        default="sync", description="What POST /pipeline does: wait for the result, or queue a job"
    )
    backend: Literal["sqlite", "redis", "memory"] = Field(
        default="sqlite", description="memory works only with every stage in one process"
    )
    queue_dir: str = Field(
        default="/data/pipeline", description="sqlite: one file per stage, on a shared volume"
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis server of the redis backend"
    )
    namespace: str = Field(
        default="dockyard-pipeline", pattern=r"^[A-Za-z0-9_.:-]+$", description="Redis key prefix"
    )
    port: int = Field(
        default=8001, ge=1, le=65535, description="The standalone front's port (the API keeps its)"
    )
    sync_timeout_s: float = Field(default=30.0, gt=0, description="POST /pipeline waits this long")
    poll_s: float = Field(default=0.2, gt=0, le=60, description="Longest idle wait of a stage")
    retention_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How long finished items are kept"
    )
    metrics_port: int = Field(default=9100, ge=0, le=65535, description="Of each stage container")

    @field_validator("stages")
    @classmethod
    def _unique(cls, value: tuple[Stage, ...]) -> tuple[Stage, ...]:
        names = [s.name for s in value]
        if len(names) != len(set(names)):
            raise ValueError("stage names to be unique")
        if FRONT in names:
            raise ValueError(f"no stage named {FRONT!r} (the HTTP front's service is called so)")
        return value

    def stage(self, name: str) -> Stage:
        """The stage called `name` (KeyError if there is none)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def next_of(self, name: str) -> Stage | None:
        """The stage after `name`, or None for the last one."""
        names = [s.name for s in self.stages]
        i = names.index(name)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None
