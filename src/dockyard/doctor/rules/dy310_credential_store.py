"""DY310: credentials kept on disk by a RUN: a credential store, a login file, a token in a URL."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import steps

_PROBLEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("git's credential store writes tokens to ~/.git-credentials",
     re.compile(r"credential\.helper\s+['\"]?store")),
    ("a credential file is written",
     re.compile(r"(>>?|\btee\b(\s+-a)?)\s*\S*(\.netrc|\.pypirc|\.git-credentials|\.npmrc|"
                r"pip\.conf|pip\.ini|\.docker/config\.json|\.huggingface/token)\b")),
    ("git keeps the remote URL, token included, in .git/config",
     re.compile(r"\bgit\s+(clone|remote\s+(add|set-url)|submodule\s+add)\b[^|]*"
                r"://[^\s/@]+(:[^\s/@]+)?@")),
    ("pip config stores the index URL, password included",
     re.compile(r"\bpip\s+config\s+set\s+\S*index-url\s+\S*://[^\s/@]+:[^\s/@]+@")),
)  # fmt: skip


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword != "RUN":
            continue
        for step in steps(ins.command):
            for problem, pattern in _PROBLEMS:
                if pattern.search(step):
                    yield Hit(ins.line, f"RUN leaves credentials in the layer: {problem}")


RULE = Rule(
    "DY310",
    "Credentials stored in the image",
    "error",
    "secrets",
    ("dockerfile",),
    fix="Mount credentials for the one step that needs them (`RUN --mount=type=secret,"
    "id=netrc,target=/root/.netrc`), clone with a token from a mounted secret and drop the URL "
    "(`git remote set-url origin https://host/repo.git`), or fetch sources outside the build.",
    check=_check,
)
