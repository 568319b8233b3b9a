"""DY102: apt package lists left in a shipped layer."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in shipped(df, "RUN"):
        if not any(i.tool in {"apt-get", "apt"} for i in installs(ins.command)):
            continue
        cached = "/var/lib/apt" in ins.flags.get("mount", "")
        if not cached and "/var/lib/apt/lists" not in ins.command:
            yield Hit(ins.line, "apt-get install leaves /var/lib/apt/lists in the layer")


RULE = Rule(
    "DY102",
    "apt lists left in the image",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="End the same RUN with `&& rm -rf /var/lib/apt/lists/*`, or use "
    "`RUN --mount=type=cache,target=/var/lib/apt`.",
    check=_check,
)
