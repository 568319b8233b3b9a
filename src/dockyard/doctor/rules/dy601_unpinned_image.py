"""DY601: images with `latest` or no tag at all (Dockerfile FROM, Compose, Kubernetes)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule


def unpinned(image: str) -> bool:
    """`python`, `python:latest` and `ghcr.io/x/y` are unpinned; tags and digests are not."""
    if "@sha256:" in image or "$" in image or image == "scratch":
        return False
    name = image.rsplit("/", 1)[-1]
    return ":" not in name or name.endswith(":latest")


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    for stage in df.stages:
        if (
            df.stage_named(stage.base) is None
            and stage.base != df.final.name
            and unpinned(stage.base)
        ):
            yield Hit(stage.line, f"FROM {stage.base} is not pinned to a version")


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if service.image and "build" not in service.data and unpinned(service.image):
            yield Hit(service.line_of("image"), f"service {service.name} uses {service.image}")


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            image = str(container.get("image", ""))
            if unpinned(image):
                yield Hit(
                    as_map(container).line_of("image"),
                    f"{pod.kind} {pod.name}: container {container.get('name')} uses {image}",
                )


def _check(artifact: Dockerfile | ComposeFile | Manifest) -> Iterator[Hit]:
    if isinstance(artifact, Dockerfile):
        return _dockerfile(artifact)
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY601",
    "Unpinned image",
    "warning",
    "reproducibility",
    ("dockerfile", "compose", "k8s"),
    fix="Pin a version tag (`python:3.11.9-slim-bookworm`), better with its digest "
    "(`@sha256:...`), so rebuilds and rollouts get the same bits.",
    check=_check,
)
