"""Reusable pieces of a production Compose service, each `(service, ...) -> new service`.

Every function returns a new mapping and never mutates its input, so callers (this package's
services and the pipeline/router/schedule services of `dockyard.deploy.patterns`) compose them in
any order: `production(limited(healthy(svc, test, spec), spec.resources), spec)`.
"""

from __future__ import annotations

from typing import Any

from dockyard.spec import Spec
from dockyard.spec.base import format_size
from dockyard.spec.resources import Resources

Service = dict[str, Any]

FRONT = "front"  # published ports; the only network with a way out
BACK = "back"  # `internal: true`: queues, stores and workers
HEALTH_TIMEOUT_S = 5.0
HEALTH_RETRIES = 3


def hardened(service: Service, spec: Spec, user: str | None = None) -> Service:
    """Non-root, read-only root with a small noexec /tmp, no capabilities, no privilege gain."""
    uid = spec.build.uid
    tmp = f"/tmp:rw,noexec,nosuid,size={format_size(spec.stack.tmpfs_size)}"
    return {
        **service,
        "user": user or f"{uid}:{uid}",
        "read_only": True,
        "tmpfs": [tmp],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "init": True,  # docker-init as PID 1 forwards SIGTERM and reaps the model's children
    }


def logged(service: Service, spec: Spec) -> Service:
    """Rotated JSON-file logs, so a chatty model cannot fill the host's disk."""
    options = {"max-size": spec.stack.log_max_size, "max-file": str(spec.stack.log_max_file)}
    return {**service, "logging": {"driver": "json-file", "options": options}}


def restarting(service: Service, spec: Spec) -> Service:
    """The stack's restart policy (Compose `restart:`; `deploy.restart_policy` is swarm-only)."""
    return {**service, "restart": spec.stack.restart}


def production(service: Service, spec: Spec, user: str | None = None) -> Service:
    """Hardened, restarting and log-rotated: what every long-running service gets."""
    return logged(restarting(hardened(service, spec, user), spec), spec)


def healthy(
    service: Service, test: list[str], spec: Spec, start_period_s: float | None = None
) -> Service:
    """An exec-form health check on the spec's cadence; gates `depends_on` and `up --wait`."""
    start = spec.build.healthcheck_start_period_s if start_period_s is None else start_period_s
    check = {
        "test": ["CMD", *test],
        "interval": seconds(spec.build.healthcheck_interval_s),
        "timeout": seconds(HEALTH_TIMEOUT_S),
        "retries": HEALTH_RETRIES,
        "start_period": seconds(start),
    }
    return {**service, "healthcheck": check}


def limited(service: Service, resources: Resources, replicas: int | None = None) -> Service:
    """CPU/memory limits and reservations, GPUs, shared memory and the replica count."""
    deploy: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    deploy["resources"] = {"limits": _limits(resources)}
    reservations = _reservations(resources)
    if reservations:
        deploy["resources"]["reservations"] = reservations
    out = {**service, "deploy": deploy}
    if resources.shm:
        out["shm_size"] = format_size(resources.shm)
    return out


def after(service: Service, **conditions: str) -> Service:
    """`depends_on` with a condition per service (service_healthy, service_completed_...)."""
    if not conditions:
        return service
    ordered = {name: {"condition": conditions[name]} for name in sorted(conditions)}
    return {**service, "depends_on": ordered}


def seconds(value: float) -> str:
    """A Compose duration ('10s', '0.5s')."""
    return f"{value:g}s"


def _limits(resources: Resources) -> dict[str, Any]:
    return {"cpus": f"{resources.cpus:g}", "memory": format_size(resources.memory)}


def _reservations(resources: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.cpus_reservation is not None:
        out["cpus"] = f"{resources.cpus_reservation:g}"
    if resources.memory_reservation is not None:
        out["memory"] = format_size(resources.memory_reservation)
    if resources.gpus:
        out["devices"] = [{"driver": "nvidia", "count": resources.gpus, "capabilities": ["gpu"]}]
    return out
