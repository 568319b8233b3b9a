"""DY302: a secret written into a RUN command (kept in the image history)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import find_in_command
from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword != "RUN":
            continue
        for hit in find_in_command(ins.command):
            yield Hit(ins.line, f"RUN contains a secret, {hit.kind} ({hit.shown})")


RULE = Rule(
    "DY302",
    "Secret in a RUN command",
    "error",
    "secrets",
    ("dockerfile",),
    fix="Rotate the key and use `RUN --mount=type=secret,id=hf_token "
    "HF_TOKEN=$(cat /run/secrets/hf_token) ...` so it never reaches a layer or the history.",
    check=_check,
)
