"""DY203: a GPU requested with no CPU or memory limit beside it."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile, has_cpu_limit, has_memory_limit, wants_gpu
from dockyard.doctor.parse.k8s import Manifest, container_line
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules.dy202_k8s_limits import missing_resources, requests_gpu


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if wants_gpu(service) and not (has_memory_limit(service) and has_cpu_limit(service)):
            yield Hit(
                service.line,
                f"service {service.name} reserves a GPU but sets no memory and CPU limits",
            )


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            missing = missing_resources(container)
            if missing and requests_gpu(container):
                yield Hit(
                    container_line(container),
                    f"{pod.kind} {pod.name}: GPU container "
                    f"{container.get('name')} has no {' and no '.join(missing)}",
                )


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY203",
    "GPU without CPU/memory limits",
    "error",
    "resources",
    ("compose", "k8s"),
    fix="Give every GPU workload a memory limit and CPU request/limit: model loading and "
    "tokenisation run on the host, and an unbounded GPU node is an expensive one to lose.",
    check=_check,
)
