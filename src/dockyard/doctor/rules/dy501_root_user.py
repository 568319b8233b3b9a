"""DY501: the container runs as root, by omission or by `USER root`."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.image import Image
from dockyard.doctor.knowledge import NONROOT_IMAGE
from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.dockerfile import Dockerfile, root_base, shipped
from dockyard.doctor.rule import Hit, Rule


def is_root(user: str) -> bool:
    return user.split(":")[0].strip() in {"", "root", "0"}


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    users = shipped(df, "USER")
    base, _ = root_base(df)
    if users and is_root(users[-1].args):
        yield Hit(users[-1].line, "the image ends on USER root")
    elif not users and base != "scratch" and not NONROOT_IMAGE.search(base):
        yield Hit(df.final.line, "no USER in the final stage: the container runs as root")


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if "user" in service.data and is_root(str(service.get("user"))):
            yield Hit(service.line_of("user"), f"service {service.name} runs as root")


def _image(image: Image) -> Iterator[Hit]:
    if is_root(str(image.config.get("User") or "")):
        yield Hit(0, f"image {image.name} runs as root")


def _check(artifact: Dockerfile | ComposeFile | Image) -> Iterator[Hit]:
    if isinstance(artifact, Dockerfile):
        return _dockerfile(artifact)
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _image(artifact)


RULE = Rule(
    "DY501",
    "Runs as root",
    "warning",
    "security",
    ("dockerfile", "compose", "image"),
    fix="Create a user with a fixed uid (`RUN useradd --uid 10001 app`) and end the final "
    "stage with `USER 10001`.",
    check=_check,
)
