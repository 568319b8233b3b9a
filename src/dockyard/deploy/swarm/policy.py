"""How Swarm runs each service: replicas, rolling update and rollback, restarts, resources,
placement, and the tmpfs mounts that stand in for Compose's `tmpfs:` and `shm_size`."""

from __future__ import annotations

from typing import Any

from dockyard.deploy.compose.parts import seconds
from dockyard.spec import Spec


def tmpfs_mount(target: str, size: int) -> dict[str, Any]:
    return {"type": "tmpfs", "target": target, "tmpfs": {"size": size}}


def deploy_section(spec: Spec, compose: dict[str, Any], stateful: bool = False) -> dict[str, Any]:
    """Replicas, resources, rolling update and rollback, restart policy, placement."""
    swarm = spec.swarm
    order = "stop-first" if stateful else "start-first"
    update = {
        "parallelism": swarm.update_parallelism,
        "delay": seconds(swarm.update_delay_s),
        "order": order,
        "failure_action": "rollback",
        "monitor": seconds(swarm.monitor_s),
        "max_failure_ratio": swarm.max_failure_ratio,
    }
    rollback = {"parallelism": swarm.update_parallelism, "order": order,
                "failure_action": "pause", "monitor": seconds(swarm.monitor_s)}  # fmt: skip
    out: dict[str, Any] = {
        "mode": "replicated",
        "replicas": compose.get("replicas", 1),
        "endpoint_mode": swarm.endpoint_mode,
        "update_config": update,
        "rollback_config": rollback,
        "restart_policy": restart_policy(spec),
    }
    resources, gpus = _resources(compose.get("resources", {}), spec)
    out["resources"] = resources
    constraints = [*swarm.constraints, *([swarm.gpu_constraint] if gpus else [])]
    if constraints := [c for c in constraints if c]:
        out["placement"] = {"constraints": constraints}
    return out


def restart_policy(spec: Spec) -> dict[str, Any]:
    swarm = spec.swarm
    policy: dict[str, Any] = {"condition": "any", "delay": seconds(swarm.restart_delay_s)}
    if swarm.restart_max_attempts:
        policy["max_attempts"] = swarm.restart_max_attempts
        policy["window"] = seconds(swarm.restart_window_s)
    return policy


def _resources(compose: dict[str, Any], spec: Spec) -> tuple[dict[str, Any], int]:
    """Compose's limits and reservations; GPUs as the generic resource nodes advertise (Swarm
    has no device requests)."""
    reservations = dict(compose.get("reservations", {}))
    devices = reservations.pop("devices", [])
    gpus = sum(int(d.get("count", 0)) for d in devices)
    if gpus:
        kind = spec.swarm.gpu_resource
        spec_ = {"discrete_resource_spec": {"kind": kind, "value": gpus}}
        reservations["generic_resources"] = [spec_]
    out = {"limits": compose.get("limits", {})} if compose.get("limits") else {}
    if reservations:
        out["reservations"] = reservations
    return out, gpus
