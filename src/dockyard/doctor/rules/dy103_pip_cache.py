"""DY103: pip's download cache left in a shipped layer."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile, key_values, shipped
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs

_OFF_FLAGS = {"pip": "--no-cache-dir", "uv": "--no-cache"}
_OFF_ENV = {"pip": "PIP_NO_CACHE_DIR", "uv": "UV_NO_CACHE"}


def _check(df: Dockerfile) -> Iterator[Hit]:
    env = {
        k for ins in df.instructions if ins.keyword in ("ENV", "ARG") for k, _ in key_values(ins)
    }
    for ins in shipped(df, "RUN"):
        if "/.cache" in ins.flags.get("mount", "") or "rm -rf /root/.cache" in ins.command:
            continue
        for inst in installs(ins.command):
            if (
                inst.tool in _OFF_FLAGS
                and _OFF_FLAGS[inst.tool] not in inst.flags
                and _OFF_ENV[inst.tool] not in env
            ):
                yield Hit(ins.line, f"{inst.tool} install keeps its download cache in the layer")
                break


RULE = Rule(
    "DY103",
    "pip cache left in the image",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Add `--no-cache-dir` (uv: `--no-cache`), set `ENV PIP_NO_CACHE_DIR=1`, or use "
    "`RUN --mount=type=cache,target=/root/.cache`.",
    check=_check,
)
