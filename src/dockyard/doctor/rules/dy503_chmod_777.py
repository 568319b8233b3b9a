"""DY503: world-writable permissions (chmod 777 and friends)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import simple_commands

_WORLD_WRITABLE = re.compile(r"^(0?[0-7]?[0-7][0-7][2367]|(a|o|ugo)\+[rx]*w[rx]*)$")


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        chmod = ins.flags.get("chmod", "")
        if ins.keyword in ("COPY", "ADD") and _WORLD_WRITABLE.match(chmod):
            yield Hit(ins.line, f"{ins.keyword} --chmod={chmod} makes files world-writable")
        if ins.keyword != "RUN":
            continue
        for words in simple_commands(ins.command):
            if words[0] == "chmod" and any(_WORLD_WRITABLE.match(w) for w in words[1:]):
                yield Hit(ins.line, f"`{' '.join(words[:3])}` makes files world-writable")


RULE = Rule(
    "DY503",
    "World-writable files",
    "warning",
    "security",
    ("dockerfile",),
    fix="Give ownership to the runtime user (`COPY --chown=10001:10001`) and use 755/644 "
    "(or 775 for a shared group) instead of 777.",
    check=_check,
)
