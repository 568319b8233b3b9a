"""DY502: sudo installed or used in the image."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword != "RUN":
            continue
        words = ins.command.split()
        if "sudo" in words or any("sudo" in i.packages for i in installs(ins.command)):
            yield Hit(ins.line, "RUN installs or uses sudo")


RULE = Rule(
    "DY502",
    "sudo in the image",
    "warning",
    "security",
    ("dockerfile",),
    fix="Drop sudo: build steps already run as root, and the running container should not "
    "be able to become root. Switch users with USER.",
    check=_check,
)
