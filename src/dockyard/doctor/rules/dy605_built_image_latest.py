"""DY605: a Compose service that builds its image and tags it `latest` (or with no tag)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules.dy601_unpinned_image import unpinned


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if "build" in service.data and service.image and unpinned(service.image):
            yield Hit(
                service.line_of("image"),
                f"service {service.name} builds {service.image}: each build overwrites the "
                "same tag, so a rollback or a second host gets whatever was built last",
            )


RULE = Rule(
    "DY605",
    "Built image tagged latest",
    "warning",
    "reproducibility",
    ("compose",),
    fix="Tag what you build with its version or commit (`image: acme/api:${GIT_SHA:?}` or "
    "`acme/api:1.8.0`), so every deployment names exactly one build.",
    check=_check,
)
