"""DY206: autoscalers with no (or a very high) replica ceiling."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule

MAX_REPLICAS = 50  # above this a ceiling is no ceiling for GPU-priced pods
_FIELDS = {"HorizontalPodAutoscaler": "maxReplicas", "ScaledObject": "maxReplicaCount"}


def _check(manifest: Manifest) -> Iterator[Hit]:
    for doc in manifest.of_kind(*_FIELDS):
        field = _FIELDS[str(doc.get("kind"))]
        spec = as_map(doc.get("spec"))
        value = spec.get(field)
        name = as_map(doc.get("metadata")).get("name")
        if not isinstance(value, int) or value > MAX_REPLICAS:
            yield Hit(
                spec.line_of(field) if field in spec else doc.line,
                f"{doc.get('kind')} {name} has {field}: {value if value else 'unset'}",
            )


RULE = Rule(
    "DY206",
    "Unbounded replicas",
    "warning",
    "resources",
    ("k8s",),
    fix=f"Set an explicit replica ceiling (at most {MAX_REPLICAS}) that your GPU budget can pay "
    "for; KEDA's default is 100.",
    check=_check,
)
