"""Multi-container stacks (Compose): exposure, third-party images, volumes, log rotation."""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import ByteSize, Section

# Pinned to a patch release so every machine runs the same server; air-gapped users point this
# at their own registry's copy.
REDIS_IMAGE = "redis:7.4.2-alpine"


class Stack(Section):
    """Settings of the rendered Compose stack beyond the per-model ones."""

    bind: str = Field(default="127.0.0.1", description="Host address published ports bind to")
    api_port: int | None = Field(
        default=None, ge=1, le=65535, description="Published host port; default serving.port"
    )
    api_replicas: int = Field(default=1, ge=0, le=1000, description="API containers")
    redis_image: str = Field(default=REDIS_IMAGE, description="Image of the Redis service")
    redis_user: str = Field(default="999", description="uid the Redis image's server runs as")
    redis_cpus: float = Field(default=0.5, gt=0, le=1024, description="CPU limit of Redis")
    redis_memory: ByteSize = Field(
        default=256 * 1024**2, ge=6 * 1024**2, description="Memory limit of Redis"
    )
    log_max_size: str = Field(default="10m", description="Docker json-file log rotation size")
    log_max_file: int = Field(default=3, ge=1, description="Rotated log files kept")
    restart: str = Field(default="unless-stopped", description="Compose restart policy")
    tmpfs_size: ByteSize = Field(default=64 * 1024**2, ge=1024**2, description="Size of /tmp")
    cache: bool = Field(default=True, description="A shared cache volume (HF_HOME and friends)")
    worker_egress: bool = Field(
        default=False, description="Let workers reach outside networks (webhooks, object stores)"
    )
