"""`dockyard run`: the container settings production should use, derived from the spec.

Pure: `container_config` returns the engine request; the CLI starts it and calls `wait_ready`.
PID 1 is docker-init (`init=True`, tini): it forwards SIGTERM to the runtime, which drains and
exits, and reaps any children the model's libraries spawn.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import SpecError, SpecProblem
from dockyard.image.plan import APP_DIR
from dockyard.spec import Spec

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class RunSettings:
    """Per-run choices read by the CLI from flags and the environment."""

    image: str
    bind: str = "127.0.0.1"
    host_port: int | None = None
    secrets: dict[str, Path] = field(default_factory=dict)
    name: str | None = None
    tmpfs_size: str = "64m"


def container_config(spec: Spec, root: Path, settings: RunSettings) -> dict[str, Any]:
    """The create-container request: limits, read-only root, no capabilities, secrets as files."""
    port = f"{spec.serving.port}/tcp"
    host_config: dict[str, Any] = {
        "port_bindings": {port: (settings.bind, settings.host_port)},
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
    if spec.resources.gpus:
        host_config["device_requests"] = [
            {"Driver": "nvidia", "Count": spec.resources.gpus, "Capabilities": [["gpu"]]}
        ]
    return {
        "image": settings.image,
        "name": settings.name,
        "ports": [spec.serving.port],
        "environment": {
            **spec.env,  # also applied by the runtime; given here so a rebuild is not needed
            "DOCKYARD_PORT": str(spec.serving.port),
            "DOCKYARD_HOST": "0.0.0.0",
        },
        "labels": {"dev.dockyard.project": spec.project.name},
        "host_config": host_config,
    }


def _binds(spec: Spec, root: Path, settings: RunSettings) -> dict[str, dict[str, str]]:
    """Secrets and volume artifacts, all read-only; every declared secret must be given."""
    missing = [s for s in spec.secrets if s not in settings.secrets]
    if missing:
        raise SpecError(
            [
                SpecProblem(
                    "(run)",
                    "secrets",
                    ", ".join(missing),
                    "a value: --secret NAME=FILE, DOCKYARD_SECRET_NAME or .dockyard/secrets/NAME",
                )
            ]
        )
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


def wait_ready(
    url: str,
    is_running: Callable[[], bool],
    timeout_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll /readyz until 200; False when the container exits or time runs out."""
    deadline = clock() + timeout_s
    while clock() < deadline:
        if _ready(url):
            return True
        if not is_running():
            return False
        sleep(0.2)
    return False


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


__all__ = ["APP_DIR", "RunSettings", "container_config", "published_url", "wait_ready"]
