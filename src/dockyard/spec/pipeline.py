"""Preprocessing pipelines: ordered stages, each its own class, image and container."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dockyard.spec.base import Section


class Stage(Section):
    """One pipeline stage: a Model-style class run by its own worker."""

    name: str
    entrypoint: str = Field(description="'module:Class' relative to the project directory")
    requirements: str | None = None
    replicas: int = Field(default=1, ge=0, le=1000)


class Pipeline(Section):
    """Stages in order; the last stage's output is the pipeline's result."""

    stages: tuple[Stage, ...] = ()
    mode: Literal["sync", "job"] = "sync"
