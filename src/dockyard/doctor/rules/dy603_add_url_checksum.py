"""DY603: `ADD https://...` without `--checksum`."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.dockerfile import Dockerfile, split_words
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword != "ADD" or "checksum" in ins.flags:
            continue
        urls = [
            w
            for w in (ins.exec_form or split_words(ins.args))[:-1]
            if w.startswith(("http://", "https://"))
        ]
        if urls:
            yield Hit(ins.line, f"ADD {urls[0]} is not verified by a checksum")


RULE = Rule(
    "DY603",
    "ADD from a URL without a checksum",
    "warning",
    "reproducibility",
    ("dockerfile",),
    fix="Use `ADD --checksum=sha256:<digest> <url> <dest>` (Dockerfile 1.6+), or download "
    "in a RUN and verify with sha256sum.",
    check=_check,
)
