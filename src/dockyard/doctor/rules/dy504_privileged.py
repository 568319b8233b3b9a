"""DY504: privileged containers."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if service.get("privileged") is True:
            yield Hit(service.line_of("privileged"), f"service {service.name} is privileged")


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            context = as_map(container.get("securityContext"))
            if context.get("privileged") is True:
                yield Hit(
                    context.line_of("privileged"),
                    f"{pod.kind} {pod.name}: container {container.get('name')} is privileged",
                )


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY504",
    "Privileged container",
    "error",
    "security",
    ("compose", "k8s"),
    fix="Remove `privileged`; GPUs need a device reservation (`deploy.resources.reservations."
    "devices` / `nvidia.com/gpu`), not privileges.",
    check=_check,
)
