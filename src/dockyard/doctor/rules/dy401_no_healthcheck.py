"""DY401: a service image (runs until stopped) with no HEALTHCHECK; jobs are exempt.

Service or job is decided by `dockyard.doctor.workload`: a server command or an exposed port
makes a service, unless the command is a run-to-completion step (`python train.py`).
"""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.image import Image
from dockyard.doctor.parse.dockerfile import Dockerfile, shipped
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.workload import workload


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    if shipped(df, "HEALTHCHECK"):
        return
    starts = " ".join(i.command for i in shipped(df, "ENTRYPOINT", "CMD"))
    if workload(starts, bool(shipped(df, "EXPOSE"))) == "service":
        yield Hit(df.final.line, "this image runs a service but declares no HEALTHCHECK")


def _image(image: Image) -> Iterator[Hit]:
    config = image.config
    starts = " ".join(str(w) for w in (config.get("Entrypoint") or []) + (config.get("Cmd") or []))
    service = workload(starts, bool(config.get("ExposedPorts"))) == "service"
    if service and not config.get("Healthcheck"):
        yield Hit(0, f"image {image.name} runs a service but has no health check")


def _check(artifact: Dockerfile | Image) -> Iterator[Hit]:
    return _dockerfile(artifact) if isinstance(artifact, Dockerfile) else _image(artifact)


RULE = Rule(
    "DY401",
    "No health check",
    "warning",
    "health",
    ("dockerfile", "image"),
    fix="Add `HEALTHCHECK CMD python -m yourapp.healthcheck` (or curl -f on a readiness path "
    "like /readyz) that passes only once the model is loaded. Services (a server command or an "
    "exposed port) need one; run-to-completion jobs (train, batch, migrate, ...) do not: their "
    "exit code is their health.",
    check=_check,
)
