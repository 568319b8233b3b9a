"""DY307: secrets in a built image's config (ENV, labels) or build history."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import check_value, find_in_command
from dockyard.doctor.image import Image
from dockyard.doctor.rule import Hit, Rule


def _check(image: Image) -> Iterator[Hit]:
    for entry in image.config.get("Env") or []:
        name, _, value = str(entry).partition("=")
        hit = check_value(name, value)
        if hit:
            yield Hit(0, f"ENV {name} holds a secret, {hit.kind} ({hit.shown})")
    for name, value in (image.config.get("Labels") or {}).items():
        hit = check_value(name, str(value))
        if hit:
            yield Hit(0, f"label {name} holds a secret, {hit.kind} ({hit.shown})")
    for step, entry in enumerate(image.history):
        for hit in find_in_command(str(entry.get("created_by", ""))):
            yield Hit(0, f"history step {step} holds a secret, {hit.kind} ({hit.shown})")


RULE = Rule(
    "DY307",
    "Secret in image config or history",
    "error",
    "secrets",
    ("image",),
    fix="Rotate the key; never pass secrets as ENV, LABEL or build args; use "
    "`RUN --mount=type=secret` and run-time environment from a secret store.",
    check=_check,
)
