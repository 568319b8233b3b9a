"""DY108: model weights downloaded during the build."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import WEIGHT_DOWNLOAD
from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in shipped(df, "RUN"):
        match = WEIGHT_DOWNLOAD.search(ins.command)
        if match:
            yield Hit(ins.line, f"model weights downloaded into a layer ({match.group(0).strip()})")


RULE = Rule(
    "DY108",
    "Model weights downloaded into the image",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Download weights at deploy time into a volume (an init container or a model cache "
    "mount), not into an image layer.",
    check=_check,
)
