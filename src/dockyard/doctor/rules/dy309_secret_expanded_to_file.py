"""DY309: a secret build argument or ENV value expanded inside a RUN and written to a file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.detect.secrets import is_secret_name
from dockyard.doctor.parse.dockerfile import Dockerfile, Instruction, arg_defaults, key_values
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import steps

_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)")
# A step that leaves what it was given on disk: a redirect, tee, or a tool that saves a login.
_WRITES = re.compile(
    r"(?<![0-9&])>>?\s*[^\s&>]|\btee\b|\bsed\s+-i|\b(git|npm|yarn|pip|poetry|conda)\s+config\b|"
    r"\b(huggingface-cli|hf)\s+(auth\s+)?login\b|\bdocker\s+login\b|\bwandb\s+login\b"
)


def _secret_names(df: Dockerfile) -> set[str]:
    names = {n for i in df.instructions if i.keyword == "ARG" for n in arg_defaults(i)}
    names |= {n for i in df.instructions if i.keyword == "ENV" for n, _ in key_values(i)}
    return {n for n in names if is_secret_name(n)}


def _written(ins: Instruction, secrets: set[str]) -> Iterator[str]:
    for step in steps(ins.command):
        used = sorted({v for v in _VAR.findall(step) if v in secrets})
        if used and _WRITES.search(step):
            yield from used


def _check(df: Dockerfile) -> Iterator[Hit]:
    secrets = _secret_names(df)
    for ins in df.instructions:
        if ins.keyword == "RUN" and "mount" not in ins.flags:
            for name in dict.fromkeys(_written(ins, secrets)):
                yield Hit(ins.line, f"RUN writes the value of {name} to a file in the layer")


RULE = Rule(
    "DY309",
    "Secret expanded into a file",
    "error",
    "secrets",
    ("dockerfile",),
    fix="The file keeps the value in the layer even if a later step deletes it. Mount the secret "
    "for the one step that needs it (`RUN --mount=type=secret,id=NAME`), or write the file at "
    "container start from a runtime secret.",
    check=_check,
)
