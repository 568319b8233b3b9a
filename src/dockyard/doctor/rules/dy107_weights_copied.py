"""DY107: model weights copied into the image."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import WEIGHT_DIR, WEIGHT_FILE
from dockyard.doctor.parse.dockerfile import Dockerfile, shipped, split_words
from dockyard.doctor.rule import Hit, Rule


def _sources(words: list[str]) -> list[str]:
    return words[:-1] if len(words) > 1 else []


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in shipped(df, "COPY", "ADD"):
        if "from" in ins.flags:
            continue
        words = ins.exec_form or split_words(ins.args)
        weights = [s for s in _sources(words) if WEIGHT_FILE.search(s) or WEIGHT_DIR.match(s)]
        if weights:
            yield Hit(ins.line, f"model weights baked into the image: {', '.join(weights)}")


RULE = Rule(
    "DY107",
    "Model weights copied into the image",
    "warning",
    "bloat",
    ("dockerfile",),
    fix="Keep weights out of the image: mount them as a volume (or a read-only model store) "
    "and point the server at the mount path.",
    check=_check,
)
