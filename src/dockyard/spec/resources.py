"""Compute the deployment asks for; rendered into run flags, Compose and Kubernetes."""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import ByteSize, Section


class Resources(Section):
    """Limits (and reservations) for every container of the model."""

    cpus: float = Field(default=1.0, gt=0, le=1024, description="CPU limit of each container")
    memory: ByteSize = Field(
        default=2 * 1024**3, ge=6 * 1024**2, description="Memory limit, e.g. '512m', '2g'"
    )
    cpus_reservation: float | None = Field(
        default=None, gt=0, description="CPUs reserved (Kubernetes request); default: the limit"
    )
    memory_reservation: ByteSize | None = Field(
        default=None, description="Memory reserved (Kubernetes request); default: the limit"
    )
    gpus: int = Field(default=0, ge=0, le=64, description="NVIDIA GPUs per container")
    shm: ByteSize = Field(
        default=64 * 1024**2,
        ge=0,
        description="Size of /dev/shm (PyTorch data loaders need more than 64m)",
    )
