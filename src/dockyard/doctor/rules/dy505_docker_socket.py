"""DY505: the container engine's socket mounted into a container (root on the host)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_list, as_map
from dockyard.doctor.rule import Hit, Rule

_SOCKET = re.compile(r"(docker|containerd|crio|podman)\.sock")


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        volumes = as_list(service.get("volumes"))
        for volume, line in zip(volumes, volumes.lines, strict=False):
            source = str(as_map(volume).get("source", "")) if isinstance(volume, dict) else volume
            if _SOCKET.search(str(source)):
                yield Hit(line, f"service {service.name} mounts the engine socket")


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for volume in map(as_map, as_list(pod.spec.get("volumes"))):
            path = str(as_map(volume.get("hostPath")).get("path", ""))
            if _SOCKET.search(path):
                yield Hit(volume.line, f"{pod.kind} {pod.name} mounts the engine socket {path}")


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY505",
    "Engine socket mounted",
    "error",
    "security",
    ("compose", "k8s"),
    fix="Do not mount docker.sock: it gives root on the host. Use a rootless builder or a "
    "narrowly scoped API proxy if a service must start containers.",
    check=_check,
)
