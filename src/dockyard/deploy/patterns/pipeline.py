"""The Compose services a pipeline needs: its HTTP front, one service per stage, a volume init.

Pure: spec in, plain data out, for the stack renderer to merge (its conventions are mirrored
here, not imported: runtime never imports build). Each stage runs its own image, built from
its own project directory and so with its own requirements, and scales on its own
(`replicas`). No service mounts the Docker socket; only the one-shot init runs as root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.spec import Spec, format_size, load_spec
from dockyard.spec.pipeline import FRONT

VOLUME = "pipeline"
INIT = "pipeline-init"
PYTHON = "/opt/venv/bin/python"
ENTRYPOINT = [PYTHON, "-m", "dockyard.runtime.pipeline"]
FRONT_NET, BACK_NET = "front", "back"  # the stack renderer's networks (back is internal)


def service_name(stage: str) -> str:
    """The Compose service of a stage (or of the front, for FRONT)."""
    return f"pipeline-{stage}"


def default_images(spec: Spec, root: Path) -> dict[str, str]:
    """The tags `dockyard build` gives each project: the pipeline's own, and each stage's."""
    images = {FRONT: f"{spec.project.name}:{spec.project.version}"}
    for stage in spec.pipeline.stages:
        own = load_spec(root / stage.path).project
        images[stage.name] = f"{own.name}:{own.version}"
    return images


def services(
    spec: Spec,
    root: Path,
    images: Mapping[str, str],
    stage_specs: Mapping[str, Spec] | None = None,
) -> dict[str, dict[str, Any]]:
    """Compose services keyed by name; `images` maps FRONT and each stage name to a tag.

    `stage_specs` are the stages' own specs (for their resources); read from `root` if omitted.
    """
    if not spec.pipeline.stages:
        return {}
    specs = stage_specs or {s.name: load_spec(root / s.path) for s in spec.pipeline.stages}
    out = {service_name(FRONT): front_service(spec, images[FRONT])}
    for stage in spec.pipeline.stages:
        out[service_name(stage.name)] = stage_service(
            spec, stage.name, images[stage.name], specs[stage.name]
        )
    if spec.pipeline.backend == "sqlite":
        out[INIT] = init_service(spec, images[FRONT])
    return out


def front_service(spec: Spec, image: str) -> dict[str, Any]:
    """The HTTP front: submits to the first queue and reads results; runs no model."""
    port = spec.pipeline.port
    service = {
        **_common(spec, spec, image),
        "command": ["serve", "/app", "--stages", "remote", "--port", str(port)],
        "environment": {**spec.env, "DOCKYARD_HOST": "0.0.0.0"},
        "ports": [f"{spec.stack.bind}:{port}:{port}"],
        "networks": [FRONT_NET, BACK_NET],
        "healthcheck": _health(["healthcheck", "/app", "--port", str(port)], spec),
    }
    return service


def stage_service(spec: Spec, name: str, image: str, own: Spec) -> dict[str, Any]:
    """One stage's worker; the pipeline table travels as JSON so the stage needs no other file."""
    stage = spec.pipeline.stage(name)
    service = {
        **_common(spec, own, image),
        "command": ["stage", name, "/app"],
        "environment": {
            **own.env,  # the stage's own [env]: each stage is its own project
            "DOCKYARD_PIPELINE": pipeline_env(spec),
            "DOCKYARD_METRICS_PORT": str(spec.pipeline.metrics_port),
        },
        "networks": [BACK_NET],
        "healthcheck": _health(["healthcheck", "/app", "--stage"], spec),
        # a draining stage finishes its claimed batch; its lease covers one that does not
        "stop_grace_period": f"{stage.lease_s:g}s",
    }
    service["deploy"] = {**service["deploy"], "replicas": stage.replicas}
    return service


def init_service(spec: Spec, image: str) -> dict[str, Any]:
    """One-shot: hand the fresh queue volume to the runtime user (named volumes start root's)."""
    uid = spec.build.uid
    return {
        "image": image,
        "entrypoint": ["/bin/sh", "-c"],
        "command": [f"chown {uid}:{uid} {spec.pipeline.queue_dir}"],
        "user": "0:0",
        "network_mode": "none",
        "volumes": [f"{VOLUME}:{spec.pipeline.queue_dir}"],
        "healthcheck": {"disable": True},
        "restart": "no",
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN"],
        "security_opt": ["no-new-privileges:true"],
    }


def pipeline_env(spec: Spec) -> str:
    """The JSON a stage container reads from DOCKYARD_PIPELINE."""
    return spec.pipeline.model_dump_json()


def _common(spec: Spec, own: Spec, image: str) -> dict[str, Any]:
    """What every long-running pipeline container shares: hardening, logs, the queue."""
    uid = spec.build.uid
    service: dict[str, Any] = {
        "image": image,
        "entrypoint": ENTRYPOINT,
        "user": f"{uid}:{uid}",
        "init": True,
        "read_only": True,
        "tmpfs": [f"/tmp:rw,noexec,nosuid,size={format_size(spec.stack.tmpfs_size)}"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "restart": spec.stack.restart,
        "logging": {
            "driver": "json-file",
            "options": {
                "max-size": spec.stack.log_max_size,
                "max-file": str(spec.stack.log_max_file),
            },
        },
        "deploy": {"resources": {"limits": _limits(own)}},
    }
    if spec.pipeline.backend == "sqlite":
        service["volumes"] = [f"{VOLUME}:{spec.pipeline.queue_dir}"]
        service["depends_on"] = {INIT: {"condition": "service_completed_successfully"}}
    elif spec.pipeline.backend == "redis":
        service["depends_on"] = {"redis": {"condition": "service_healthy"}}
    return service


def _limits(own: Spec) -> dict[str, str]:
    r = own.resources
    return {"cpus": f"{r.cpus:g}", "memory": format_size(r.memory)}


def _health(args: list[str], spec: Spec) -> dict[str, Any]:
    return {
        "test": ["CMD", *ENTRYPOINT, *args],
        "interval": f"{spec.build.healthcheck_interval_s:g}s",
        "timeout": "5s",
        "retries": 3,
        "start_period": f"{spec.build.healthcheck_start_period_s:g}s",
    }
