"""DY405: Compose `depends_on` that waits for a container to start, not to be healthy."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.yamlsrc import YList, YMap, as_map
from dockyard.doctor.rule import Hit, Rule

_WAITS = {"service_healthy", "service_completed_successfully"}


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        deps = service.get("depends_on")
        if isinstance(deps, YList):
            for name, line in zip(deps, deps.lines, strict=False):
                yield Hit(line, f"service {service.name} starts as soon as {name} starts")
        elif isinstance(deps, YMap):
            for name in deps:
                if as_map(deps[name]).get("condition") not in _WAITS:
                    yield Hit(
                        deps.line_of(name),
                        f"service {service.name} starts as soon as {name} starts",
                    )


RULE = Rule(
    "DY405",
    "depends_on without a health condition",
    "warning",
    "health",
    ("compose",),
    fix="Use `depends_on: {db: {condition: service_healthy}}` and give the dependency a "
    "healthcheck.",
    check=_check,
)
