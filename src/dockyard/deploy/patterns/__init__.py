"""Services of the patterns beyond API + workers (router, pipeline), merged into the stack.

`dockyard.deploy.compose.render_compose` calls `services_for`; each pattern module returns plain
service dicts and this module gives every long-running one the stack's production settings
(hardening, restart policy, log rotation, limits), so no pattern can ship a weaker container.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.deploy.compose.parts import limited, production
from dockyard.deploy.patterns import pipeline, router
from dockyard.spec import Spec
from dockyard.spec.pipeline import FRONT

Service = dict[str, Any]


def services_for(spec: Spec, root: Path, image: str) -> dict[str, Service]:
    """Every pattern service the spec asks for, production-hardened."""
    found: dict[str, Service] = {}
    if spec.router.enabled:
        found.update(router.services(spec, root, image))
    if spec.pipeline.stages:
        images = {**pipeline.default_images(spec, root), FRONT: image}
        found.update(pipeline.services(spec, root, images))
    return {n: _production(s, spec) for n, s in found.items()}


def _production(service: Service, spec: Spec) -> Service:
    """Long-running services get the stack's settings; one-shots (restart "no") stay as made."""
    if service.get("restart") == "no":
        return service
    hardened = production(service, spec)
    return hardened if "deploy" in service else limited(hardened, spec.resources)


def projects_to_build(spec: Spec, root: Path) -> tuple[Path, ...]:
    """Project directories whose images the patterns run besides the root's own."""
    paths = [v.path for v in spec.router.versions if spec.router.enabled and v.path is not None]
    paths += [stage.path for stage in spec.pipeline.stages]
    found = dict.fromkeys((root / p).resolve() for p in paths)
    found.pop(root.resolve(), None)
    return tuple(found)
