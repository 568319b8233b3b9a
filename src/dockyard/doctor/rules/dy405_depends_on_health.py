"""DY405: Compose `depends_on` that waits for a container to start, not to be ready or done.

The right condition depends on what the dependency is (`dockyard.doctor.workload`): wait for a
service to be `service_healthy`, for a job (a migration, a model download) to be
`service_completed_successfully`; the other way round the wait never ends or ends too soon.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.yamlsrc import YList, YMap, as_map
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.workload import Workload, service_workload

_WAIT = {"service": "service_healthy", "job": "service_completed_successfully"}


def _check(compose: ComposeFile) -> Iterator[Hit]:
    kinds = {s.name: service_workload(s) for s in compose.services}
    for service in compose.services:
        deps = service.get("depends_on")
        if isinstance(deps, YList):
            for name, line in zip(deps, deps.lines, strict=False):
                yield Hit(line, f"service {service.name} starts as soon as {name} starts")
        elif isinstance(deps, YMap):
            for name in deps:
                condition = str(as_map(deps[name]).get("condition") or "")
                problem = _problem(service.name, str(name), condition, kinds.get(str(name)))
                if problem:
                    yield Hit(deps.line_of(name), problem)


def _problem(service: str, dep: str, condition: str, kind: Workload | None) -> str | None:
    if condition not in _WAIT.values():
        return f"service {service} starts as soon as {dep} starts"
    if kind is not None and condition != _WAIT[kind]:
        return f"service {service} waits for {dep} with {condition}, but {dep} is a {kind}"
    return None


RULE = Rule(
    "DY405",
    "depends_on without a health condition",
    "warning",
    "health",
    ("compose",),
    fix="Use `depends_on: {db: {condition: service_healthy}}` and give the dependency a "
    "healthcheck; for a run-to-completion job (migrate, download) use "
    "`condition: service_completed_successfully`.",
    check=_check,
)
