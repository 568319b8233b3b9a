"""DY506: Linux capabilities added to a container."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import YList, as_list, as_map
from dockyard.doctor.rule import Hit, Rule

_HARMLESS = {"NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE"}


def _risky(caps: YList) -> list[str]:
    return [str(c) for c in caps if str(c).upper() not in _HARMLESS]


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        caps = _risky(as_list(service.get("cap_add")))
        if caps:
            yield Hit(service.line_of("cap_add"), f"service {service.name} adds {', '.join(caps)}")


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.all_containers:
            capabilities = as_map(as_map(container.get("securityContext")).get("capabilities"))
            caps = _risky(as_list(capabilities.get("add")))
            if caps:
                yield Hit(
                    capabilities.line_of("add"),
                    f"{pod.kind} {pod.name}: container "
                    f"{container.get('name')} adds {', '.join(caps)}",
                )


def _check(artifact: ComposeFile | Manifest) -> Iterator[Hit]:
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY506",
    "Capabilities added",
    "warning",
    "security",
    ("compose", "k8s"),
    fix="Drop `cap_add` / `capabilities.add`; model servers need none (bind ports above 1024).",
    check=_check,
)
