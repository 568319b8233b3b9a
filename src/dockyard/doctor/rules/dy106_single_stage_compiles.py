"""DY106: a single-stage build that compiles, so the toolchain ships with the model."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import BUILD_PACKAGE, COMPILE_COMMANDS
from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs, simple_commands


def _compiles(script: str) -> bool:
    if any(w[0] in COMPILE_COMMANDS for w in simple_commands(script)):
        return True
    return any(
        BUILD_PACKAGE.match(p.split("=")[0])
        for i in installs(script)
        if i.tool != "pip"
        for p in i.packages
    )


def _check(df: Dockerfile) -> Iterator[Hit]:
    if len(df.stages) != 1:
        return
    for ins in df.final.of("RUN"):
        if _compiles(ins.command):
            yield Hit(ins.line, "this single-stage build installs or runs a compiler")
            return


RULE = Rule(
    "DY106",
    "Single-stage build that compiles",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Split into a builder stage (compile, build wheels) and a slim final stage that "
    "copies only the results.",
    check=_check,
)
