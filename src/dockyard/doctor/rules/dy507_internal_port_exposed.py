"""DY507: databases, queues and vector stores publishing ports on every host interface."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.knowledge import INTERNAL_IMAGE
from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.yamlsrc import as_list, as_map
from dockyard.doctor.rule import Hit, Rule

_LOOPBACK = ("127.0.0.1:", "localhost:", "[::1]:", "::1:")


def _public(port: object) -> bool:
    if isinstance(port, dict):
        return str(as_map(port).get("host_ip", "")) not in {"127.0.0.1", "::1", "localhost"}
    return not str(port).startswith(_LOOPBACK)


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if not INTERNAL_IMAGE.search(service.image):
            continue
        ports = as_list(service.get("ports"))
        for port, line in zip(ports, ports.lines, strict=False):
            if _public(port):
                yield Hit(
                    line,
                    f"service {service.name} ({service.image}) publishes {port} on all interfaces",
                )


RULE = Rule(
    "DY507",
    "Internal service published on all interfaces",
    "warning",
    "security",
    ("compose",),
    fix="Drop `ports:` (services reach it on the Compose network) or bind to loopback: "
    "`127.0.0.1:5432:5432`.",
    check=_check,
)
