"""DY401: an image that serves traffic but has no HEALTHCHECK."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.image import Image
from dockyard.doctor.knowledge import SERVER
from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    if shipped(df, "HEALTHCHECK"):
        return
    starts = " ".join(i.command for i in shipped(df, "CMD", "ENTRYPOINT"))
    if shipped(df, "EXPOSE") or SERVER.search(starts):
        yield Hit(df.final.line, "this image serves traffic but declares no HEALTHCHECK")


def _image(image: Image) -> Iterator[Hit]:
    if image.config.get("ExposedPorts") and not image.config.get("Healthcheck"):
        yield Hit(0, f"image {image.name} exposes ports but has no health check")


def _check(artifact: Dockerfile | Image) -> Iterator[Hit]:
    return _dockerfile(artifact) if isinstance(artifact, Dockerfile) else _image(artifact)


RULE = Rule(
    "DY401",
    "No health check",
    "warning",
    "health",
    ("dockerfile", "image"),
    fix="Add `HEALTHCHECK CMD python -m yourapp.healthcheck` (or curl -f on a readiness path "
    "like /readyz) that passes only once the model is loaded.",
    check=_check,
)
