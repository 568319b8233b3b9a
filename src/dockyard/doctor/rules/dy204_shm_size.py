"""DY204: PyTorch-style work (DataLoader workers, NCCL, vLLM) with the default 64 MB /dev/shm."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import TORCH_WORKLOAD
from dockyard.doctor.parse.compose import ComposeFile, command_text, environment
from dockyard.doctor.parse.k8s import Manifest, PodSpec
from dockyard.doctor.parse.yamlsrc import as_list, as_map
from dockyard.doctor.rule import Hit, Rule


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        text = command_text(service) + " " + " ".join(n for n, _, _ in environment(service))
        if service.get("shm_size") or service.get("ipc") == "host":
            continue
        if TORCH_WORKLOAD.search(text):
            yield Hit(
                service.line,
                f"service {service.name} runs PyTorch-style work with the default 64 MB /dev/shm",
            )


def _has_shm(pod: PodSpec) -> bool:
    memory_volumes = {
        str(as_map(v).get("name"))
        for v in as_list(pod.spec.get("volumes"))
        if as_map(as_map(v).get("emptyDir")).get("medium") == "Memory"
    }
    return any(
        as_map(m).get("mountPath") == "/dev/shm" and as_map(m).get("name") in memory_volumes
        for c in pod.containers
        for m in as_list(c.get("volumeMounts"))
    )


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        text = " ".join(
            str(c.get(k, "")) for c in pod.containers for k in ("image", "command", "args")
        )
        if TORCH_WORKLOAD.search(text) and not _has_shm(pod):
            yield Hit(
                pod.line,
                f"{pod.kind} {pod.name} runs PyTorch-style work with no memory-backed /dev/shm",
            )


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY204",
    "No shared memory for PyTorch",
    "warning",
    "resources",
    ("compose", "k8s"),
    fix="Compose: set `shm_size: 2gb` (or more). Kubernetes: mount an `emptyDir` with "
    "`medium: Memory` and a `sizeLimit` at /dev/shm.",
    check=_check,
)
