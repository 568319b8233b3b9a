"""DY404: serving Kubernetes pods without readiness or liveness probes."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.k8s import SERVING_KINDS, Manifest, container_line
from dockyard.doctor.rule import Hit, Rule


def _check(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        if pod.kind not in SERVING_KINDS:
            continue
        for container in pod.containers:
            missing = [p for p in ("readinessProbe", "livenessProbe") if p not in container]
            if missing:
                yield Hit(
                    container_line(container),
                    f"{pod.kind} {pod.name}: container "
                    f"{container.get('name')} has no {' and no '.join(missing)}",
                )


RULE = Rule(
    "DY404",
    "No readiness or liveness probe",
    "warning",
    "health",
    ("k8s",),
    fix="Add an httpGet readinessProbe on a path that passes once the model is loaded, a "
    "livenessProbe, and a startupProbe with enough budget for model loading.",
    check=_check,
)
