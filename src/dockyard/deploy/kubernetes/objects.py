"""What every manifest shares: the object envelope, names, labels, YAML text."""

from __future__ import annotations

from typing import Any

import yaml

from dockyard.spec import Spec

Manifest = dict[str, Any]
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"


def obj(api: str, kind: str, name: str, body: Manifest, labels: dict[str, str]) -> Manifest:
    """A Kubernetes object: apiVersion, kind, metadata, then its body (spec, data, ...)."""
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "labels": labels},
        **body,
    }


def name(spec: Spec, role: str) -> str:
    return f"{spec.project.name}-{role}"


def labels(spec: Spec, role: str) -> dict[str, str]:
    return {NAME_LABEL: spec.project.name, COMPONENT_LABEL: role}


def project_selector(spec: Spec) -> dict[str, str]:
    """Every pod of the project, whatever its component."""
    return {NAME_LABEL: spec.project.name}


# libyaml's emitter when PyYAML has it (the same text, ~5x faster than the pure-Python one).
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Plain(_Dumper):  # type: ignore[valid-type,misc]
    """No `&id001` anchors: shared label dicts are written out in full, as humans write them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(manifest: Manifest) -> str:
    """One document, keys in the order written (deterministic)."""
    return yaml.dump(manifest, Dumper=_Plain, sort_keys=False, width=100)


def to_yaml(manifests: list[Manifest]) -> str:
    """One multi-document YAML file."""
    return "---\n".join(dump(m) for m in manifests)
