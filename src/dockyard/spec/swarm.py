"""Docker Swarm: how `dockyard deploy --swarm` publishes, resolves and rolls the services."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from dockyard.spec.base import Section

_CONSTRAINT = re.compile(r"^[\w.-]+(\.[\w.-]+)*\s*(==|!=)\s*\S+$")


class Swarm(Section):
    """Settings of the rendered Swarm stack; everything else comes from the shared spec.

    The defaults are Swarm's own (routing mesh, virtual IPs). Hosts whose kernel has no IPVS
    (some CI machines and sandboxes) need `publish_mode = "host"` and `endpoint_mode = "dnsrr"`.
    """

    endpoint_mode: Literal["vip", "dnsrr"] = Field(
        default="vip",
        description="How services find each other: vip (one virtual IP, IPVS) or dnsrr (DNS "
        "answers with every ready task's address)",
    )
    publish_mode: Literal["ingress", "host"] = Field(
        default="ingress",
        description="The front's published port: ingress (routing mesh, every node) or host "
        "(each node that runs a front binds the port itself)",
    )
    update_parallelism: int = Field(
        default=1, ge=1, le=100, description="Tasks replaced at once in a rolling update"
    )
    update_delay_s: float = Field(
        default=2.0, ge=0, le=3600, description="Pause between two batches of a rolling update"
    )
    monitor_s: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="How long each new task is watched after it turned healthy; a failure "
        "inside the window rolls the update back",
    )
    max_failure_ratio: float = Field(
        default=0.0, ge=0, le=1, description="Share of failed tasks an update tolerates"
    )
    restart_delay_s: float = Field(
        default=5.0, ge=0, le=3600, description="Wait before a failed task is restarted"
    )
    restart_max_attempts: int = Field(
        default=0, ge=0, description="Restarts within restart_window_s before giving up; 0: never"
    )
    restart_window_s: float = Field(
        default=120.0, gt=0, le=86400, description="Window restart_max_attempts is counted in"
    )
    constraints: tuple[str, ...] = Field(
        default=(),
        description="Placement constraints of the model's services, e.g. 'node.labels.zone==a'",
    )
    gpu_constraint: str = Field(
        default="node.labels.gpu==true",
        description="Extra placement constraint of services asking for GPUs "
        "(resources.gpus > 0); empty for none",
    )
    gpu_resource: str = Field(
        default="NVIDIA-GPU",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Generic resource kind nodes advertise for their GPUs (dockerd "
        "node-generic-resources)",
    )
    front_cpus: float = Field(
        default=0.5, gt=0, le=64, description="CPU limit of the front (the router on the port)"
    )

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not _CONSTRAINT.match(item):
                raise ValueError(f"constraints like 'node.labels.zone==a' (got {item!r})")
        return value
