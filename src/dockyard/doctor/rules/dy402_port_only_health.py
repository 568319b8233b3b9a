"""DY402: health checks that only test that a port is open, not that the model is ready."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.dockerfile import Dockerfile
from dockyard.doctor.parse.k8s import Manifest
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule

PORT_ONLY = re.compile(
    r"\bnc\b[^|;&]*\s-\w*z|/dev/tcp/|socket\.(create_connection|socket)|\.connect\(\(|"
    r"(curl|wget)\s[^|;&]*?(https?://)?(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):\d+/?"
    r"(?=[\s'\"|;&]|$)"
)


def _dockerfile(df: Dockerfile) -> Iterator[Hit]:
    for ins in df.instructions:
        if ins.keyword == "HEALTHCHECK" and PORT_ONLY.search(ins.command):
            yield Hit(ins.line, "HEALTHCHECK only checks that a port answers")


def _compose(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        check = as_map(service.get("healthcheck"))
        test = check.get("test")
        text = " ".join(map(str, test)) if isinstance(test, list) else str(test or "")
        if PORT_ONLY.search(text):
            yield Hit(
                check.line_of("test"),
                f"service {service.name}'s healthcheck only checks that a port answers",
            )


def _k8s(manifest: Manifest) -> Iterator[Hit]:
    for pod in manifest.pods:
        for container in pod.containers:
            probe = as_map(container.get("readinessProbe"))
            if "tcpSocket" in probe:
                yield Hit(
                    probe.line_of("tcpSocket"),
                    f"{pod.kind} {pod.name}: readiness "
                    f"probe of {container.get('name')} only opens a TCP socket",
                )


def _check(artifact: Dockerfile | ComposeFile | Manifest) -> Iterator[Hit]:
    if isinstance(artifact, Dockerfile):
        return _dockerfile(artifact)
    return _compose(artifact) if isinstance(artifact, ComposeFile) else _k8s(artifact)


RULE = Rule(
    "DY402",
    "Health check only tests a port",
    "warning",
    "health",
    ("dockerfile", "compose", "k8s"),
    fix="Check readiness over HTTP on a path that answers only once the model is loaded "
    "(e.g. `curl -fsS http://localhost:8000/readyz`, or an httpGet readinessProbe).",
    check=_check,
)
