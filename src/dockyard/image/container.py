"""`dockyard run`: the container settings production should use, derived from the spec.

Pure: `container_config` returns the engine request; `launch` starts it and waits.
PID 1 is docker-init (`init=True`, tini): it forwards SIGTERM to the runtime, which drains and
exits, and reaps any children the model's libraries spawn.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dockyard.image.plan import APP_DIR, VENV
from dockyard.spec import Spec

SECRETS_DIR = "/run/secrets"
PROJECT_LABEL = "dev.dockyard.project"
Role = Literal["api", "worker"]


@dataclass(frozen=True)
class RunSettings:
    """Per-run choices read by the CLI from flags and the environment."""

    image: str
    bind: str = "127.0.0.1"
    host_port: int | None = None
    secrets: dict[str, Path] = field(default_factory=dict)
    name: str | None = None
    tmpfs_size: str = "64m"
    auto_remove: bool = False
    jobs_volume: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


def labels_for(spec: Spec, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels on everything Dockyard creates for a project, so it can find and clean it."""
    return {PROJECT_LABEL: spec.project.name, **(extra or {})}


def jobs_dir(spec: Spec) -> str | None:
    """The directory the SQLite queue writes to, when the project has one."""
    worker = spec.worker
    if worker.enabled and worker.backend == "sqlite":
        return posixpath.dirname(worker.sqlite_path) or "/"
    return None


def container_config(
    spec: Spec, root: Path, settings: RunSettings, role: Role = "api"
) -> dict[str, Any]:
    """The create-container request: limits, read-only root, no capabilities, secrets as files.

    The worker role runs the same image as `worker`, publishes nothing, and shares the API's
    jobs volume.
    """
    port = f"{spec.serving.port}/tcp"
    host_config: dict[str, Any] = {
        "port_bindings": {port: (settings.bind, settings.host_port)} if role == "api" else {},
        "auto_remove": settings.auto_remove,
        "nano_cpus": int(spec.resources.cpus * 1e9),
        "mem_limit": spec.resources.memory,
        "memswap_limit": spec.resources.memory,
        "shm_size": spec.resources.shm,
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,noexec,nosuid,size={settings.tmpfs_size}"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "init": True,
        "binds": _binds(spec, root, settings),
    }
    if settings.jobs_volume and (target := jobs_dir(spec)):
        host_config["binds"][settings.jobs_volume] = {"bind": target, "mode": "rw"}
    if spec.resources.gpus:
        host_config["device_requests"] = [
            {"Driver": "nvidia", "Count": spec.resources.gpus, "Capabilities": [["gpu"]]}
        ]
    config: dict[str, Any] = {
        "image": settings.image,
        "name": settings.name,
        "ports": [spec.serving.port] if role == "api" else [],
        "environment": {
            **spec.env,  # also applied by the runtime; given here so a rebuild is not needed
            "DOCKYARD_PORT": str(spec.serving.port),
            "DOCKYARD_HOST": "0.0.0.0",
        },
        "labels": labels_for(spec, {"dev.dockyard.role": role, **settings.labels}),
        "host_config": host_config,
    }
    if role == "worker":
        config["command"] = ["worker", APP_DIR]
        # the image's own HEALTHCHECK probes the API's port, which a worker does not serve
        check = [f"{VENV}/bin/python", "-m", "dockyard.runtime", "healthcheck", APP_DIR, "--worker"]
        config["healthcheck"] = {"test": ["CMD", *check], "interval": 10_000_000_000}
    return config


def _binds(spec: Spec, root: Path, settings: RunSettings) -> dict[str, dict[str, str]]:
    """Secrets and volume artifacts, all read-only."""
    binds = {
        str(path.resolve()): {"bind": f"{SECRETS_DIR}/{name}", "mode": "ro"}
        for name, path in settings.secrets.items()
    }
    for art in spec.artifacts:
        if art.mode == "volume":
            binds[str((root / art.path).resolve())] = {"bind": art.container_path, "mode": "ro"}
    return binds


def published_url(inspect: dict[str, Any], port: int) -> str:
    """http://HOST:PORT of the published container port, from `docker inspect`."""
    bound = inspect["NetworkSettings"]["Ports"][f"{port}/tcp"][0]
    return f"http://{bound['HostIp'] or '127.0.0.1'}:{bound['HostPort']}"


__all__ = [
    "APP_DIR",
    "PROJECT_LABEL",
    "RunSettings",
    "container_config",
    "jobs_dir",
    "labels_for",
    "published_url",
]
