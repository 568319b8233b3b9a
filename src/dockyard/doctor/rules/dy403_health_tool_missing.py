"""DY403: a health check that calls curl, wget or nc in an image that does not have them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.image import Image
from dockyard.doctor.knowledge import NO_CURL_IMAGE, NO_WGET_IMAGE
from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.dockerfile import Dockerfile, root_base, shipped
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.shell import installs, simple_commands

_LACKS = {"curl": NO_CURL_IMAGE, "wget": NO_WGET_IMAGE, "nc": NO_WGET_IMAGE}


def tools_used(command: str) -> list[str]:
    """The probe tools a health command runs."""
    command = re.sub(r"^\s*(CMD-SHELL|CMD)\s+", "", command)
    return [w[0] for w in simple_commands(command) if w[0] in _LACKS]


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    base, _ = root_base(df)
    installed = {
        p.split("=")[0]
        for ins in shipped(df, "RUN")
        for i in installs(ins.command)
        for p in i.packages
    }
    installed |= {"nc"} if installed & {"netcat", "netcat-openbsd", "netcat-traditional"} else set()
    for ins in shipped(df, "HEALTHCHECK"):
        for tool in tools_used(ins.command):
            if _LACKS[tool].search(base) and tool not in installed:
                yield Hit(ins.line, f"HEALTHCHECK runs {tool}, which {base} does not ship")


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        test = as_map(service.get("healthcheck")).get("test")
        text = " ".join(map(str, test)) if isinstance(test, list) else str(test or "")
        for tool in tools_used(text):
            if service.image and not service.get("build") and _LACKS[tool].search(service.image):
                yield Hit(
                    service.line_of("healthcheck"),
                    f"service {service.name}'s "
                    f"healthcheck runs {tool}, which {service.image} does not ship",
                )


def _image(image: Image) -> Iterator[Hit]:
    test = (image.config.get("Healthcheck") or {}).get("Test") or []
    names = {
        f.path.rsplit("/", 1)[-1]
        for f in image.files
        if f.deleted_in is None and "/bin/" in "/" + f.path
    }
    for tool in tools_used(" ".join(test[1:])):
        if tool not in names:
            yield Hit(0, f"the health check runs {tool}, which is not in the image")


def _check(artifact: Dockerfile | ComposeFile | Image) -> Iterator[Hit]:
    if isinstance(artifact, Dockerfile):
        return _dockerfile(artifact)
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _image(artifact)


RULE = Rule(
    "DY403",
    "Health check needs a missing tool",
    "error",
    "health",
    ("dockerfile", "compose", "image"),
    fix="Probe with what the image has (e.g. `python -c 'import urllib.request,sys; "
    'urllib.request.urlopen("http://localhost:8000/readyz")\'`) or install the tool.',
    check=_check,
)
