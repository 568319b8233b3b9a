"""Kubernetes manifests: every document, and the pod specs inside workloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dockyard.doctor.parse.yamlsrc import YMap, as_list, as_map, load_documents

# Where each workload kind keeps its pod spec.
_POD_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
# Workloads that serve traffic and so need probes (jobs run to completion).
SERVING_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


@dataclass(frozen=True)
class PodSpec:
    """A pod spec found in a workload document."""

    kind: str
    name: str
    line: int
    spec: YMap

    @property
    def containers(self) -> list[YMap]:
        """Main containers (init containers run to completion and are checked apart)."""
        return [as_map(c) for c in as_list(self.spec.get("containers"))]

    @property
    def all_containers(self) -> list[YMap]:
        init = [as_map(c) for c in as_list(self.spec.get("initContainers"))]
        return init + self.containers


@dataclass(frozen=True)
class Manifest:
    """A parsed (multi-document) Kubernetes manifest file."""

    path: str
    text: str
    docs: tuple[YMap, ...]

    def of_kind(self, *kinds: str) -> list[YMap]:
        return [d for d in self.docs if d.get("kind") in kinds]

    @property
    def pods(self) -> Iterator[PodSpec]:
        for doc in self.docs:
            kind = str(doc.get("kind", ""))
            path = _POD_PATHS.get(kind)
            if path is None:
                continue
            spec = doc
            for key in path:
                spec = as_map(spec.get(key))
            name = str(as_map(doc.get("metadata")).get("name", kind))
            yield PodSpec(kind, name, doc.line, spec)


def parse_k8s(text: str, path: str = "manifest.yaml") -> Manifest:
    """Parse every document that is a Kubernetes object (has `kind`)."""
    docs = [as_map(d) for d in load_documents(text)]
    return Manifest(path, text, tuple(d for d in docs if "kind" in d))


def is_k8s(docs: list[object]) -> bool:
    """Whether these YAML documents look like Kubernetes objects."""
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs)


def container_line(container: YMap) -> int:
    """The line to report a container problem on: its `name`, else the container itself."""
    return container.line_of("name")
