"""DY606: a production file that names an image by tag, where only a digest is immutable.

Production files are those whose name or folder says `prod` or `production`
(`compose.prod.yaml`, `k8s/production/api.yaml`). Images the file builds are DY605's business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules.dy601_unpinned_image import unpinned

_PRODUCTION = re.compile(r"(^|[._-])(prod|production)([._-]|$)", re.I)


def is_production(path: str) -> bool:
    """`compose.prod.yaml`, `deploy/production/api.yaml`: yes; `products.yaml`: no."""
    return any(_PRODUCTION.search(part) for part in PurePath(path).parts)


def _mutable(image: str) -> bool:
    return bool(image) and "@sha256:" not in image and "$" not in image and not unpinned(image)


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if "build" not in service.data and _mutable(service.image):
            yield Hit(service.line_of("image"), f"service {service.name} uses {service.image}")


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            image = str(container.get("image", ""))
            if _mutable(image):
                yield Hit(as_map(container).line_of("image"), f"{pod.kind} {pod.name} uses {image}")


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    if not is_production(artifact.path):
        return iter(())
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY606",
    "Mutable tag in a production file",
    "warning",
    "reproducibility",
    ("compose", "k8s"),
    fix="Pin the digest next to the tag (`redis:7.2.5@sha256:...`): a tag can be pushed again, "
    "a digest cannot; renovate or `docker buildx imagetools inspect` gives it.",
    check=_check,
)
