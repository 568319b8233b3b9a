"""What the Kubernetes tests share: the examples, a project with environments, pod access."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard.deploy.kubernetes import Manifest, render_kubernetes
from dockyard.spec import Spec, load_spec
from tests.fixtures.projects import make_project

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (REPO / "examples").rglob("dockyard.toml"))
IMAGE = "registry.example/app:1"
CRD_KINDS = frozenset({"ScaledObject", "ServiceMonitor", "PodMonitor"})


def everything_on(spec: Spec) -> Spec:
    """The spec with every optional Kubernetes object turned on (autoscaling, monitors)."""
    k8s = spec.kubernetes
    scale = k8s.autoscale.model_copy(update={"enabled": True})
    update = {"autoscale": scale, "service_monitor": True, "priority_class": "inference"}
    return spec.model_copy(update={"kubernetes": k8s.model_copy(update=update)})


def renderings(root: Path) -> Iterator[tuple[str, list[Manifest]]]:
    """The shared spec's and each environment's manifests, as shipped and with everything on."""
    spec = load_spec(root)
    specs = {"shared": spec} | {e: load_spec(root, environment=e) for e in spec.environments}
    for env, own in specs.items():
        yield env, render_kubernetes(own, IMAGE, root)
        yield f"{env}+all", render_kubernetes(everything_on(own), IMAGE, root, load_s=42.0)


def staged_project(tmp: Path, **tables: dict[str, Any]) -> Path:
    """A Redis-queue project with a schedule, a secret and two environments that differ."""
    environments = {
        "staging": {"env": {"LOG_LEVEL": "debug"}},
        "prod": {
            "stack": {"api_replicas": 3},
            "worker": {"replicas": 4},
            "resources": {"cpus": 2, "memory": "2g"},
            "env": {"LOG_LEVEL": "warning", "BATCH": "64"},
        },
    }
    worker = {"enabled": True, "backend": "redis", "redis_url": "redis://redis:6379/0"}
    root = make_project(
        tmp / "staged",
        "echo",
        worker=worker,
        env={"LOG_LEVEL": "info"},
        environments=environments,
        schedules=[{"name": "nightly", "cron": "0 3 * * *", "command": ["true"]}],
        **tables,
    )
    toml = root / "dockyard.toml"
    toml.write_text('secrets = ["hf-token"]\n' + toml.read_text())
    return root


def pod_specs(manifest: Manifest) -> list[Manifest]:
    """The pod template of a workload (none for other kinds)."""
    spec = manifest.get("spec", {})
    if manifest["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if manifest["kind"] in ("Deployment", "StatefulSet"):
        return [spec["template"]["spec"]]
    return []


def by_key(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}
