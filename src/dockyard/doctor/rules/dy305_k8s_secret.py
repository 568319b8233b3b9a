"""DY305: a literal secret in a Kubernetes container env or a ConfigMap."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import check_value
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_list, as_map
from dockyard.doctor.rule import Hit, Rule


def _env_hits(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            for item in map(as_map, as_list(container.get("env"))):
                name, value = str(item.get("name", "")), item.get("value")
                hit = check_value(name, str(value)) if value is not None else None
                if hit:
                    yield Hit(
                        item.line_of("value"),
                        f"{pod.kind} {pod.name}: env {name} holds "
                        f"a secret, {hit.kind} ({hit.shown})",
                    )


def _configmap_hits(manifest: Manifest) -> Iterator[Hit]:
    for doc in manifest.of_kind("ConfigMap"):
        data = as_map(doc.get("data"))
        for name, value in data.items():
            hit = check_value(name, str(value))
            if hit:
                yield Hit(
                    data.line_of(name),
                    f"ConfigMap key {name} holds a secret, {hit.kind} ({hit.shown})",
                )


def _check(manifest: Manifest) -> Iterator[Hit]:
    yield from _env_hits(manifest)
    yield from _configmap_hits(manifest)


RULE = Rule(
    "DY305",
    "Literal secret in Kubernetes env",
    "error",
    "secrets",
    ("k8s",),
    fix="Rotate the key; store it in a Secret (sealed or from an external store) and use "
    "`valueFrom.secretKeyRef`.",
    check=_check,
)
