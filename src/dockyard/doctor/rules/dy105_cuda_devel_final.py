"""DY105: the shipped image is based on a CUDA *devel* image (compilers and headers, GBs)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import CUDA_DEVEL
from dockyard.doctor.parse.dockerfile import Dockerfile, root_base
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    base, line = root_base(df)
    if CUDA_DEVEL.search(base):
        yield Hit(line, f"the final stage is based on the CUDA devel image {base}")


RULE = Rule(
    "DY105",
    "CUDA devel base in the final stage",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Compile in a `-devel` builder stage and base the final stage on the matching "
    "`-runtime` (or `-base`) image.",
    check=_check,
)
