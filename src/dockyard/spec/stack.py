"""Multi-container stacks (Compose): exposure, third-party images, volumes."""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import Section


class Stack(Section):
    """Settings of the rendered Compose stack beyond the per-model ones."""

    bind: str = Field(default="127.0.0.1", description="Host address published ports bind to")
    api_replicas: int = Field(default=1, ge=0, le=1000)
    redis_image: str = "redis:7.4-alpine"
    log_max_size: str = "10m"
    log_max_file: int = Field(default=3, ge=1)
    restart: str = "unless-stopped"
