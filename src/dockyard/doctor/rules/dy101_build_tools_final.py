"""DY101: compilers and build tools installed in the final stage of a multi-stage build."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import BUILD_PACKAGE
from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs


def _check(df: Dockerfile) -> Iterator[Hit]:
    if len(df.stages) < 2:
        return  # single-stage builds are DY106's concern
    for ins in shipped(df, "RUN"):
        tools = [
            p.split("=")[0]
            for i in installs(ins.command)
            if i.tool != "pip"
            for p in i.packages
            if BUILD_PACKAGE.match(p.split("=")[0])
        ]
        if tools:
            yield Hit(ins.line, f"build tools in the final stage: {', '.join(tools)}")


RULE = Rule(
    "DY101",
    "Build tools in the final stage",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Install compilers and -dev packages in the builder stage only; copy the built wheels "
    "or binaries into the final stage with COPY --from.",
    check=_check,
)
