"""DY508: Kubernetes pods missing the restricted Pod Security settings."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.k8s import Manifest, PodSpec, container_line
from dockyard.doctor.parse.yamlsrc import YMap, as_list, as_map
from dockyard.doctor.rule import Hit, Rule


def _setting(pod: PodSpec, container: YMap, key: str) -> object:
    """A securityContext setting; the container's overrides the pod's."""
    own = as_map(container.get("securityContext"))
    return own[key] if key in own else as_map(pod.spec.get("securityContext")).get(key)


def _missing(pod: PodSpec, container: YMap) -> list[str]:
    context = as_map(container.get("securityContext"))
    drops = [str(c).upper() for c in as_list(as_map(context.get("capabilities")).get("drop"))]
    seccomp = as_map(_setting(pod, container, "seccompProfile")).get("type")
    checks = {
        "runAsNonRoot: true": _setting(pod, container, "runAsNonRoot") is True,
        "allowPrivilegeEscalation: false": context.get("allowPrivilegeEscalation") is False,
        "capabilities.drop: [ALL]": "ALL" in drops,
        "seccompProfile: RuntimeDefault": seccomp in {"RuntimeDefault", "Localhost"},
    }
    return [name for name, ok in checks.items() if not ok]


def _check(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(flag) is True:
                yield Hit(pod.spec.line_of(flag), f"{pod.kind} {pod.name} sets {flag}")
        for container in pod.all_containers:
            missing = _missing(pod, container)
            if missing:
                yield Hit(
                    container_line(container),
                    f"{pod.kind} {pod.name}: container "
                    f"{container.get('name')} lacks {', '.join(missing)}",
                )


RULE = Rule(
    "DY508",
    "Pod not restricted",
    "warning",
    "security",
    ("k8s",),
    fix="Set `runAsNonRoot: true` and `seccompProfile: {type: RuntimeDefault}` on the pod, and "
    "`allowPrivilegeEscalation: false` and `capabilities: {drop: [ALL]}` on each container.",
    check=_check,
)
