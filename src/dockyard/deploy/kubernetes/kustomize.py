"""A Kustomize layout: the shared spec as a base, each environment as an overlay of patches.

An overlay holds only what its environment changes (replicas, resources, env, ...), as
strategic-merge patches computed from the two renderings; objects only the environment has are
its own resources, objects it lacks are deleted with `$patch: delete`, and the image digest the
release record holds for it goes in Kustomize's `images` field. Plain files only: no plugins,
no generators, so `kubectl apply -k overlays/NAME` needs nothing but kubectl.

`build` applies an overlay the way `kustomize build` does for the subset of patches written
here (maps merged, lists merged by their Kubernetes merge key, other lists replaced); tests check it
against the environment's fully rendered (`--flat`) output.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from dockyard.deploy.kubernetes.objects import Manifest, dump

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
DELETE = "$patch"
Key = tuple[str, str]  # kind, name
# Kubernetes' patchMergeKey of the list fields in Dockyard's objects (ports: see _merge_key);
# every other list is replaced whole by a patch, as strategic merge does for atomic lists.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "topologySpreadConstraints": "topologyKey",
}


@dataclass(frozen=True)
class Image:
    """Kustomize's image override: containers running `name` run `new_name@digest` instead."""

    name: str
    new_name: str
    digest: str

    def entry(self) -> dict[str, str]:
        return {"name": self.name, "newName": self.new_name, "digest": self.digest}


@dataclass(frozen=True)
class Overlay:
    """One environment's changes to the base."""

    patches: list[Manifest] = field(default_factory=list)
    resources: list[Manifest] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)


def key(manifest: Manifest) -> Key:
    return manifest["kind"], manifest["metadata"]["name"]


def overlay(base: list[Manifest], target: list[Manifest], images: list[Image]) -> Overlay:
    """The patches that turn `base` into `target` (before the image override)."""
    before = {key(m): m for m in base}
    after = {key(m): m for m in target}
    patches = [
        {**_header(after[k]), **change}
        for k in after
        if k in before and (change := _diff(_body(before[k]), _body(after[k])))
    ]
    patches += [{**_header(before[k]), DELETE: "delete"} for k in before if k not in after]
    added = [after[k] for k in after if k not in before]
    return Overlay(patches=patches, resources=added, images=images)


def build(base: list[Manifest], changes: Overlay) -> list[Manifest]:
    """`kustomize build` of an overlay made by `overlay`."""
    found = {key(m): copy.deepcopy(m) for m in base}
    for patch in changes.patches:
        k = key(patch)
        if k not in found:
            raise ValueError(f"patch for {k[0]} {k[1]}, which the base does not have")
        if patch.get(DELETE) == "delete":
            del found[k]
        else:
            found[k] = _merge(found[k], _body(patch))
    found.update({key(m): copy.deepcopy(m) for m in changes.resources})
    for manifest in found.values():
        for image in changes.images:
            _set_image(manifest, image)
    return list(found.values())


def files(base: list[Manifest], overlays: dict[str, Overlay]) -> dict[str, str]:
    """Relative path -> text: base/ with one file per object, overlays/NAME/ per environment."""
    out = {f"base/{_file(m)}": dump(m) for m in base}
    out["base/kustomization.yaml"] = _kustomization(resources=[_file(m) for m in base])
    for env, changes in overlays.items():
        folder = f"overlays/{env}"
        for manifest in changes.resources:
            out[f"{folder}/{_file(manifest)}"] = dump(manifest)
        for patch in changes.patches:
            out[f"{folder}/patch-{_file(patch)}"] = dump(patch)
        out[f"{folder}/kustomization.yaml"] = _kustomization(
            resources=["../../base", *(_file(m) for m in changes.resources)],
            patches=[{"path": f"patch-{_file(p)}"} for p in changes.patches],
            images=[image.entry() for image in changes.images],
        )
    return out


def image_name(reference: str) -> str:
    """The name Kustomize matches images by: the reference without its tag or digest."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":", 1)[0]


def _kustomization(**fields: list[Any]) -> str:
    doc = {"apiVersion": KUSTOMIZE_API, "kind": "Kustomization"}
    return dump({**doc, **{k: v for k, v in fields.items() if v}})


def _file(manifest: Manifest) -> str:
    kind, name = key(manifest)
    return f"{kind.lower()}-{name}.yaml"


def _header(manifest: Manifest) -> Manifest:
    meta = {"name": manifest["metadata"]["name"]}
    return {"apiVersion": manifest["apiVersion"], "kind": manifest["kind"], "metadata": meta}


def _body(manifest: Manifest) -> Manifest:
    return {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}


def _merge_key(field: str, items: object) -> str | None:
    """The key Kubernetes merges a list field's items by (its patchMergeKey); None: the list
    is replaced whole. Only the lists Dockyard's objects hold are listed."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":  # a container's by containerPort, a Service's by port
        return "containerPort" if all("containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _diff(before: Any, after: Any, field: str = "") -> Any:
    """A strategic-merge patch from `before` to `after`; None when they are equal."""
    if before == after:
        return None
    if isinstance(before, dict) and isinstance(after, dict):
        out = {k: None for k in before if k not in after}  # null deletes a key
        for k, value in after.items():
            if k not in before:
                out[k] = value
            elif (change := _diff(before[k], value, k)) is not None:
                out[k] = change
        return out
    merge_key = _merge_key(field, before)
    if merge_key and _merge_key(field, after) == merge_key:
        return _diff_keyed(before, after, merge_key)
    return after


def _diff_keyed(before: list[Manifest], after: list[Manifest], by: str) -> list[Manifest]:
    old = {item[by]: item for item in before}
    new = {item[by]: item for item in after}
    out: list[Manifest] = [{by: k, DELETE: "delete"} for k in old if k not in new]
    for k, item in new.items():
        if k not in old:
            out.append(item)
        elif (change := _diff(old[k], item)) is not None:
            out.append({by: k, **change})
    return out


def _merge(base: Any, patch: Any, field: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, value in patch.items():
            if value is None:
                out.pop(k, None)
            else:
                out[k] = _merge(base[k], value, k) if k in base else value
        return out
    merge_key = _merge_key(field, base)
    if merge_key:
        return _merge_keyed(base, patch, merge_key)
    return copy.deepcopy(patch)


def _merge_keyed(base: list[Manifest], patch: list[Manifest], by: str) -> list[Manifest]:
    out = {item[by]: item for item in base}
    for item in patch:
        if item.get(DELETE) == "delete":
            out.pop(item[by], None)
        elif item[by] in out:
            out[item[by]] = _merge(out[item[by]], item)
        else:
            out[item[by]] = item
    return list(out.values())


def _set_image(manifest: Manifest, image: Image) -> None:
    for container in _containers(manifest):
        if image_name(container["image"]) == image.name:
            container["image"] = f"{image.new_name}@{image.digest}"


def _containers(manifest: Manifest) -> list[Manifest]:
    spec = manifest.get("spec", {})
    if manifest["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return list(spec.get("template", {}).get("spec", {}).get("containers", []))
