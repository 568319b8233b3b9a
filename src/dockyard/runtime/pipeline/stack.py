"""The Compose services a pipeline needs: its HTTP front, and one service per stage.

Pure: spec in, plain data out, for the stack renderer to merge. Each stage runs its own image
(built from its own project directory, so with its own requirements) and scales on its own
(`replicas`). No service mounts the Docker socket or needs any capability.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.spec import Spec, format_size, load_spec
from dockyard.spec.pipeline import FRONT

VOLUME = "pipeline-data"
PYTHON = "/opt/venv/bin/python"
ENTRYPOINT = [PYTHON, "-m", "dockyard.runtime.pipeline"]


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

    `stage_specs` are the stages' own specs (their resources); read from `root` when omitted.
    """
    specs = stage_specs or {s.name: load_spec(root / s.path) for s in spec.pipeline.stages}
    out = {service_name(FRONT): front_service(spec, images[FRONT])}
    for stage in spec.pipeline.stages:
        out[service_name(stage.name)] = stage_service(
            spec, stage.name, images[stage.name], specs[stage.name]
        )
    return out


def volumes(spec: Spec) -> dict[str, dict[str, Any]]:
    """The named volume the SQLite queues live on (none for Redis)."""
    return {VOLUME: {}} if spec.pipeline.backend == "sqlite" else {}


def front_service(spec: Spec, image: str) -> dict[str, Any]:
    """The HTTP front: submits to the first queue and reads results; runs no model."""
    port = spec.serving.port
    return {
        **_common(spec, spec, image),
        "command": ["serve", "/app", "--stages", "remote"],
        "environment": {"DOCKYARD_HOST": "0.0.0.0", "DOCKYARD_PORT": str(port)},
        "ports": [f"{spec.stack.bind}:{port}:{port}"],
        "healthcheck": _health(["healthcheck", "/app"], spec),
    }


def stage_service(spec: Spec, name: str, image: str, own: Spec) -> dict[str, Any]:
    """One stage's worker; the pipeline table travels as JSON so the stage needs no other file."""
    stage = spec.pipeline.stage(name)
    return {
        **_common(spec, own, image),
        "command": ["stage", name, "/app"],
        "environment": {
            "DOCKYARD_PIPELINE": pipeline_env(spec),
            "DOCKYARD_METRICS_PORT": str(spec.pipeline.metrics_port),
        },
        "healthcheck": _health(["healthcheck", "/app", "--stage"], spec),
        "stop_grace_period": f"{int(stage.lease_s)}s",
        "deploy": {**_deploy(own), "replicas": stage.replicas},
    }


def _common(spec: Spec, own: Spec, image: str) -> dict[str, Any]:
    """What every pipeline container shares: hardening, logs, restarts, the queue volume."""
    service: dict[str, Any] = {
        "image": image,
        "entrypoint": ENTRYPOINT,
        "init": True,
        "read_only": True,
        "tmpfs": ["/tmp"],
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
        "deploy": _deploy(own),
    }
    if spec.pipeline.backend == "sqlite":
        service["volumes"] = [f"{VOLUME}:{spec.pipeline.queue_dir}"]
    elif spec.pipeline.backend == "redis":
        service["depends_on"] = {"redis": {"condition": "service_healthy"}}
    return service


def _deploy(own: Spec) -> dict[str, Any]:
    r = own.resources
    return {"resources": {"limits": {"cpus": f"{r.cpus:g}", "memory": format_size(r.memory)}}}


def _health(args: list[str], spec: Spec) -> dict[str, Any]:
    return {
        "test": ["CMD", *ENTRYPOINT, *args],
        "interval": f"{spec.build.healthcheck_interval_s:g}s",
        "timeout": "5s",
        "retries": 3,
        "start_period": f"{spec.build.healthcheck_start_period_s:g}s",
    }


def pipeline_env(spec: Spec) -> str:
    """The JSON a stage container reads from DOCKYARD_PIPELINE (for `docker run` by hand)."""
    return spec.pipeline.model_dump_json()
