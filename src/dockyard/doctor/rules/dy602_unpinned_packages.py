"""DY602: pip or conda packages installed without a version.

apt packages are not checked: Debian drops old versions from its mirrors, so apt pins break
builds; pin the base image by digest instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs

_PINNED = re.compile(r"(===?|@)\s*\S|^[./~$]|\.(whl|tar\.gz|zip)$|://")
_TOOLING = {"pip", "setuptools", "wheel", "uv"}


def _unpinned(tool: str, package: str) -> bool:
    name = re.split(r"[\[<>=~!;@ ]", package, maxsplit=1)[0].lower()
    if name in _TOOLING:
        return False
    if tool in {"conda", "mamba"}:
        return "=" not in package
    return not _PINNED.search(package)


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword != "RUN":
            continue
        loose = [
            p
            for i in installs(ins.command)
            if i.tool in {"pip", "uv", "conda", "mamba"}
            for p in i.packages
            if _unpinned(i.tool, p)
        ]
        if loose:
            yield Hit(ins.line, f"unpinned packages: {', '.join(loose)}")


RULE = Rule(
    "DY602",
    "Unpinned package install",
    "warning",
    "reproducibility",
    ("dockerfile",),
    fix="Pin exact versions (`torch==2.3.1`) or install from a locked requirements file "
    "(`pip install -r requirements.lock`, `uv sync --frozen`).",
    check=_check,
)
