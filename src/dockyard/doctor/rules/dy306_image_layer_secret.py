"""DY306: secrets in a built image's files, including files a later layer deleted."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.image import Image
from dockyard.doctor.rule import Hit, Rule


def _check(image: Image) -> Iterator[Hit]:
    for f in image.files:
        if not f.secrets:
            continue
        where = f"/{f.path} in layer {f.layer}"
        if f.deleted_in is not None:
            where += f" (deleted in layer {f.deleted_in}, but still in the image)"
        yield Hit(0, f"{where}: {'; '.join(f.secrets)}")


RULE = Rule(
    "DY306",
    "Secret in an image layer",
    "error",
    "secrets",
    ("image",),
    fix="Rotate the key and rebuild without it: deleting a file in a later layer does not remove "
    "it from the image. Use `RUN --mount=type=secret` for build-time secrets.",
    check=_check,
)
