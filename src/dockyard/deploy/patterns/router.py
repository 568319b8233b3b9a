"""The Compose services the router pattern needs: the router, and one service per local version.

Pure data from the spec (it reads the versions' own specs, never the engine), shaped like the
services of `dockyard.deploy.compose` so the stack renderer can merge them and add its hardening,
limits and logging. It imports nothing from `dockyard.image`, so the renderer can call it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.spec import Spec, load_spec, resolve
from dockyard.spec.router import Version

# The router takes the `api` service's place: clients, the published port and `up --wait` stay
# the same whether a project serves one model or several versions behind a router.
ROUTER = "api"
FRONT, BACK = "front", "back"  # the stack's networks (see dockyard.deploy.compose.parts)
APP_DIR = "/app"


def version_service(name: str) -> str:
    """The Compose service (and DNS name) of version `name`."""
    return f"model-{name}"


def services(spec: Spec, root: Path, image: str) -> dict[str, dict[str, Any]]:
    """The router (image `image`, entrypoint swapped) and a service per version with a path.

    Versions with a `url` run elsewhere and get no service. A version whose path is the project
    itself runs `image`; any other uses the tag `dockyard.image` gives its project (NAME:VERSION).
    Versions are started, not awaited healthy, before the router: a canary that never turns
    ready must not keep the router (and the stable version) from serving.
    """
    root = root.resolve()
    router: dict[str, Any] = {
        "image": image,
        "entrypoint": ["python", "-m", "dockyard.runtime.router"],
        "command": [APP_DIR],
        "environment": {"DOCKYARD_HOST": "0.0.0.0"},
        "ports": [_published(spec)],
        "networks": [FRONT, BACK],
        "depends_on": {},
    }
    found = {ROUTER: router}
    for version in spec.router.versions:
        if version.path is None:
            continue
        service, url = _version(version, root, image)
        found[version_service(version.name)] = service
        router["environment"][version.url_env] = url
        router["depends_on"][version_service(version.name)] = {"condition": "service_started"}
    return found


def _version(version: Version, root: Path, image: str) -> tuple[dict[str, Any], str]:
    assert version.path is not None
    project = resolve(root, version.path)
    own = load_spec(project)
    tag = image if project == root else f"{own.project.name}:{own.project.version}"
    service = {
        "image": tag,
        "command": ["serve", APP_DIR],
        "environment": {"DOCKYARD_HOST": "0.0.0.0"},
        "networks": [BACK],
    }
    return service, f"http://{version_service(version.name)}:{own.serving.port}"


def _published(spec: Spec) -> dict[str, Any]:
    return {
        "target": spec.serving.port,
        "published": str(spec.stack.api_port or spec.serving.port),
        "host_ip": spec.stack.bind,
        "protocol": "tcp",
    }
