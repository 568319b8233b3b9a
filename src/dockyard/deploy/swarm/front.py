"""The front of a Swarm stack: Dockyard's router on the published port, the API behind it.

Why a front: with `publish_mode = "host"` a node's port can be bound by one task only, so the
API could not start its new task beside the old one (start-first) without a gap. The front
holds the port and never changes in a model update (its image stays the one it started with);
it forwards each inference request to the `api` service by name, and when the replica it
reached is going away (Swarm takes a task out of DNS, waits, then sends SIGTERM, and the
draining server answers 503) it asks again over a new connection, which DNS sends to a
replica still in service. So a rolling update of the API costs clients nothing.
"""

from __future__ import annotations

from typing import Any

from dockyard.deploy.compose.parts import Service, healthy, seconds
from dockyard.deploy.compose.services import PYTHON
from dockyard.deploy.front import STUB, front_spec
from dockyard.deploy.swarm.policy import deploy_section, tmpfs_mount
from dockyard.spec import Spec

FRONT_SERVICE = "front"
FRONT_DIR = "/etc/dockyard/front"
FRONT_SPEC, FRONT_STUB = "front_spec", "front_stub"
FRONT_MEMORY = 256 * 1024**2
_KEPT = ("user", "read_only", "cap_drop", "init", "logging", "networks", "volumes")


def front(api: Service, spec: Spec, image: str) -> Service:
    """The router service in the API's place: its port, hardening and networks (front only)."""
    service: Service = {k: api[k] for k in _KEPT if k in api}
    port = spec.serving.port
    service.update(
        image=image,
        entrypoint=[PYTHON, "-m", "dockyard.runtime.router"],
        command=[FRONT_DIR],
        environment={"DOCKYARD_HOST": "0.0.0.0", "DOCKYARD_PORT": str(port)},
        ports=[_port(spec)],
        networks=["front"],
        volumes=[tmpfs_mount("/tmp", spec.stack.tmpfs_size)],
        configs=[
            {"source": FRONT_SPEC, "target": f"{FRONT_DIR}/dockyard.toml", "mode": 0o444},
            {"source": FRONT_STUB, "target": f"{FRONT_DIR}/front.py", "mode": 0o444},
        ],
        stop_grace_period=seconds(spec.serving.graceful_timeout_s + 5),
    )
    checked = healthy(service, [PYTHON, "-m", "dockyard.runtime", "healthcheck", FRONT_DIR], spec)
    checked["deploy"] = _deploy(spec)
    return checked


def _port(spec: Spec) -> dict[str, Any]:
    published = spec.stack.api_port or spec.serving.port
    return {"target": spec.serving.port, "published": published, "protocol": "tcp",
            "mode": spec.swarm.publish_mode}  # fmt: skip


def _deploy(spec: Spec) -> dict[str, Any]:
    """One front per node in host mode (each binds the node's port; a new one can only start
    once the old one let go); one behind the routing mesh in ingress mode."""
    host = spec.swarm.publish_mode == "host"
    limits = {"cpus": f"{spec.swarm.front_cpus:g}", "memory": "256m"}
    section = deploy_section(spec, {"resources": {"limits": limits}}, stateful=host)
    if host:
        section["mode"] = "global"
        section.pop("replicas")
    section.pop("placement", None)  # the front needs no GPU, wherever the model runs
    return section


def front_files(spec: Spec) -> dict[str, str]:
    """The front's project, mounted as Swarm configs: one version, the `api` service."""
    api = ("api", f"http://api:{spec.serving.port}", 1.0)
    made_by = "dockyard deploy --swarm"
    return {FRONT_SPEC: front_spec(spec, made_by, [api]), FRONT_STUB: STUB}
