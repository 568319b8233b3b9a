"""DY104: apt-get install without --no-install-recommends."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs


def _check(df: Dockerfile) -> Iterator[Hit]:
    if any("Install-Recommends" in ins.command for ins in df.instructions):
        return  # recommends switched off in apt's configuration
    for ins in shipped(df, "RUN"):
        for inst in installs(ins.command):
            if inst.tool in {"apt-get", "apt"} and "--no-install-recommends" not in inst.flags:
                yield Hit(ins.line, "apt-get install also pulls every recommended package")
                break


RULE = Rule(
    "DY104",
    "Recommended packages installed",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Use `apt-get install -y --no-install-recommends ...`.",
    check=_check,
)
