"""DY110: the same large file stored in more than one layer (chown/chmod/mv in a later RUN)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.image import Image, LayerFile
from dockyard.doctor.rule import Hit, Rule


def _check(image: Image) -> Iterator[Hit]:
    first: dict[str, LayerFile] = {}
    for f in image.files:
        if not f.digest:
            continue
        seen = first.setdefault(f.digest, f)
        if seen.layer != f.layer:
            yield Hit(
                0,
                f"{f.path} ({f.size / 2**20:.1f} MiB) in layer {f.layer} duplicates "
                f"{seen.path} from layer {seen.layer}",
            )


RULE = Rule(
    "DY110",
    "Duplicate files across layers",
    "warning",
    "bloat",
    ("image",),
    fix="Set ownership and modes while copying (`COPY --chown=... --chmod=...`) instead of a "
    "later chown/chmod RUN, and never move or copy large files in a later layer.",
    check=_check,
)
