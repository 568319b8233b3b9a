"""DY301: a secret value in a Dockerfile ENV, ARG default or LABEL (kept in the image forever)."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import check_value
from dockyard.doctor.parse.dockerfile import Dockerfile, arg_defaults, key_values
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword == "ARG":
            pairs = list(arg_defaults(ins).items())
        elif ins.keyword in ("ENV", "LABEL"):
            pairs = key_values(ins)
        else:
            continue
        for name, value in pairs:
            hit = check_value(name, value)
            if hit:
                yield Hit(
                    ins.line, f"{ins.keyword} {name} holds a secret, {hit.kind} ({hit.shown})"
                )


RULE = Rule(
    "DY301",
    "Secret in ENV, ARG or LABEL",
    "error",
    "secrets",
    ("dockerfile",),
    fix="Remove the value and rotate the key. Pass secrets at run time (environment from a "
    "secret store) or at build time with `RUN --mount=type=secret`.",
    check=_check,
)
