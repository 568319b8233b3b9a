"""DY202: Kubernetes containers with no memory limit or no CPU request/limit."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import GPU_RESOURCES
from dockyard.doctor.parse.k8s import Manifest, container_line
from dockyard.doctor.parse.yamlsrc import YMap, as_map
from dockyard.doctor.rule import Hit, Rule


def missing_resources(container: YMap) -> list[str]:
    """Which of 'memory limit' and 'CPU request or limit' a container lacks."""
    resources = as_map(container.get("resources"))
    limits, requests = as_map(resources.get("limits")), as_map(resources.get("requests"))
    missing = [] if limits.get("memory") else ["memory limit"]
    if not (limits.get("cpu") or requests.get("cpu")):
        missing.append("CPU request or limit")
    return missing


def requests_gpu(container: YMap) -> bool:
    resources = as_map(container.get("resources"))
    wanted = {**as_map(resources.get("requests")), **as_map(resources.get("limits"))}
    return any(key in wanted for key in GPU_RESOURCES)


def _check(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            missing = missing_resources(container)
            if missing and not requests_gpu(container):
                yield Hit(
                    container_line(container),
                    f"{pod.kind} {pod.name}: container "
                    f"{container.get('name')} has no {' and no '.join(missing)}",
                )


RULE = Rule(
    "DY202",
    "No memory or CPU limit (Kubernetes)",
    "warning",
    "resources",
    ("k8s",),
    fix="Set `resources.limits.memory` and `resources.requests.cpu` (and a CPU limit if your "
    "cluster policy wants one).",
    check=_check,
)
