"""How images are built and gate-tested: base image, CUDA, system packages, the runtime user."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from dockyard.spec.base import ByteSize, Section

# The official slim image for each Python version. The lock records the digest on first build.
DEFAULT_BASES = {
    "3.10": "python:3.10-slim-bookworm",
    "3.11": "python:3.11-slim-bookworm",
    "3.12": "python:3.12-slim-bookworm",
    "3.13": "python:3.13-slim-bookworm",
}

_CUDA = re.compile(r"^\d{2}\.\d(\.\d)?$")


class Gate(Section):
    """What `dockyard test` demands beyond golden parity (flags override each value)."""

    eval_file: str | None = Field(
        default=None, description='JSON Lines of {"input": ..., "label": ...} for the quality gate'
    )
    metric: Literal["accuracy", "mae"] = Field(
        default="accuracy", description="Quality metric over eval_file"
    )
    label_key: str | None = Field(default=None, description="Output field compared with the label")
    threshold: float | None = Field(default=None, description="accuracy >= it, or mae <= it")
    latency_requests: int = Field(
        default=200, ge=1, le=100_000, description="Requests of the latency check"
    )
    latency_concurrency: int = Field(
        default=4, ge=1, le=256, description="Concurrent clients of the latency check"
    )
    latency_p95_ms: float | None = Field(
        default=None, gt=0, description="Fail when p95 latency is above it"
    )


class Build(Section):
    """Image settings; `base_image` may be overridden per build (flag or DOCKYARD_BASE_IMAGE)."""

    base_image: str | None = Field(
        default=None,
        description="Base image of both stages; default: the official slim Python image",
    )
    cuda: str | None = Field(default=None, description="CUDA runtime version when gpus > 0")
    system_packages: tuple[str, ...] = Field(
        default=(), description="apt packages of the runtime image"
    )
    build_packages: tuple[str, ...] = Field(
        default=(), description="apt packages for the build stage only (compilers for sdists)"
    )
    uid: int = Field(
        default=10001, ge=1000, le=2**31 - 1, description="The non-root user the container runs as"
    )
    python_path: str | None = Field(
        default=None, description="Interpreter in the base image; found automatically if unset"
    )
    include: tuple[str, ...] = Field(default=(), description="Extra paths copied into the image")
    exclude: tuple[str, ...] = Field(
        default=(),
        description="Development-only files kept out of the image (.dockerignore patterns, "
        "e.g. 'export.py', 'scripts/'); added to the built-in defaults",
    )
    allow_files: tuple[str, ...] = Field(
        default=(),
        description="Files (globs) that may go into the image although they look like secrets "
        "(e.g. a test key); `dockyard build` refuses any other file holding a secret",
    )
    max_file_size: ByteSize = Field(
        default=10 * 1024**2, ge=0, description="Larger undeclared files stay out of the image"
    )
    healthcheck_interval_s: float = Field(
        default=10.0, ge=1, description="Docker HEALTHCHECK interval"
    )
    healthcheck_start_period_s: float = Field(
        default=60.0, ge=0, description="Docker HEALTHCHECK start period (model loading)"
    )
    bytecode: Literal["runtime", "all", "none"] = Field(
        default="runtime",
        description="Bytecode compiled into the image: 'runtime' (what the server imports on "
        "its way to ready), 'all' (every module: faster model imports, a bigger image), 'none'",
    )
    platforms: tuple[Literal["linux/amd64", "linux/arm64"], ...] = Field(
        default=(),
        description="Platforms of the image; default: the building machine's only. Others are "
        "assembled from wheels without running them and pushed as one multi-platform image",
    )
    gate: Gate = Field(default=Gate(), description="Bars of `dockyard test`")

    @field_validator("cuda")
    @classmethod
    def _cuda(cls, value: str | None) -> str | None:
        if value is not None and not _CUDA.match(value):
            raise ValueError("a CUDA version such as '12.4.1'")
        return value
