"""DY311: `COPY . .` (or a folder) sends the context's .env, key or credential files to a layer."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from dockyard.doctor.parse.context import BuildContext
from dockyard.doctor.parse.dockerfile import split_words
from dockyard.doctor.rule import Hit, Rule


def _covers(source: str, path: str) -> bool:
    """Whether COPY's source `source` (context-relative) takes the file `path`."""
    source = source.removeprefix("./").rstrip("/")
    if source in ("", ".", "*"):
        return True
    return path == source or path.startswith(source + "/") or fnmatch.fnmatch(path, source)


def _check(context: BuildContext) -> Iterator[Hit]:
    if not context.secret_files:
        return
    for ins in context.dockerfile.instructions:
        if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags:
            continue
        sources = (ins.exec_form or split_words(ins.args))[:-1]
        taken = [p for p in context.secret_files if any(_covers(s, p) for s in sources)]
        if taken:
            shown = ", ".join(taken[:5]) + (" ..." if len(taken) > 5 else "")
            yield Hit(ins.line, f"{ins.keyword} takes secret files from the context: {shown}")


RULE = Rule(
    "DY311",
    "Context secrets copied by a broad COPY",
    "error",
    "secrets",
    ("context",),
    fix="List the files in .dockerignore (`.env*`, `*.pem`, `*.key`, `credentials*`), or copy "
    "only what the image needs (`COPY src/ /app/src/`).",
    check=_check,
)
