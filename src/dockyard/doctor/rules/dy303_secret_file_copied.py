"""DY303: a .env file, private key or credentials file copied into the image."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import SECRET_FILE
from dockyard.doctor.parse.dockerfile import Dockerfile, split_words
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags:
            continue
        words = ins.exec_form or split_words(ins.args)
        found = [s for s in words[:-1] if SECRET_FILE.search("/" + s.rstrip("/"))]
        if found:
            yield Hit(ins.line, f"{ins.keyword} puts secret files in a layer: {', '.join(found)}")


RULE = Rule(
    "DY303",
    "Secret file copied into the image",
    "error",
    "secrets",
    ("dockerfile",),
    fix="Do not copy .env or key files; list them in .dockerignore, pass values at run time, "
    "and use `RUN --mount=type=secret` when the build needs one.",
    check=_check,
)
