"""How images are built: base image, CUDA, system packages, the runtime user."""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import Section

# The official slim image for each Python version. The lock records the digest on first build.
DEFAULT_BASES = {
    "3.10": "python:3.10-slim-bookworm",
    "3.11": "python:3.11-slim-bookworm",
    "3.12": "python:3.12-slim-bookworm",
    "3.13": "python:3.13-slim-bookworm",
}


class Build(Section):
    """Image settings; `base_image` may be overridden per build (flag or DOCKYARD_BASE_IMAGE)."""

    base_image: str | None = None
    cuda: str | None = Field(default=None, description="CUDA runtime version when gpus > 0")
    system_packages: tuple[str, ...] = ()
    uid: int = Field(default=10001, ge=1000, le=2**31 - 1)
    python_path: str | None = Field(
        default=None, description="Interpreter in the base image; found automatically if unset"
    )
    include: tuple[str, ...] = Field(default=(), description="Extra paths copied into the image")
    exclude: tuple[str, ...] = Field(default=(), description="Extra .dockerignore patterns")
