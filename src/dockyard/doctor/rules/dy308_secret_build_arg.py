"""DY308: a secret passed through ARG or ENV: build args and ENV values are kept in the image."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import is_secret_name
from dockyard.doctor.parse.dockerfile import Dockerfile, arg_defaults, key_values
from dockyard.doctor.rule import Hit, Rule


def _check(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword == "ARG":
            names = [
                n
                for n, v in arg_defaults(ins).items()
                if is_secret_name(n) and (not v or v.startswith("$"))
            ]
        elif ins.keyword == "ENV":
            names = [n for n, v in key_values(ins) if is_secret_name(n) and v.startswith("$")]
        else:
            continue
        for name in names:
            yield Hit(
                ins.line, f"{ins.keyword} {name} carries a secret into the image history or config"
            )


RULE = Rule(
    "DY308",
    "Secret passed as a build argument",
    "warning",
    "secrets",
    ("dockerfile",),
    fix="Use `RUN --mount=type=secret,id=NAME` (and `docker build --secret id=NAME,env=NAME`) "
    "instead of ARG/ENV; build args show in `docker history`.",
    check=_check,
)
