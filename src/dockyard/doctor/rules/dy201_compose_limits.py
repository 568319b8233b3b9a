"""DY201: Compose services with no memory or CPU limit."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile, has_cpu_limit, has_memory_limit, wants_gpu
from dockyard.doctor.rule import Hit, Rule


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        if wants_gpu(service):
            continue  # DY203 reports GPU services, more severely
        missing = [
            name
            for name, ok in (("memory", has_memory_limit(service)), ("CPU", has_cpu_limit(service)))
            if not ok
        ]
        if missing:
            yield Hit(service.line, f"service {service.name} has no {' or '.join(missing)} limit")


RULE = Rule(
    "DY201",
    "No memory or CPU limit (Compose)",
    "warning",
    "resources",
    ("compose",),
    fix="Set `deploy.resources.limits.memory` and `.cpus` so one service cannot starve the "
    "host (a model that leaks memory gets OOM-killed alone).",
    check=_check,
)
