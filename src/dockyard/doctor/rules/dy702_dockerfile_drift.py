"""DY702: a service builds from a different Dockerfile, context or target in dev and prod."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.composeset import ComposeSet
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules._parity import hit, shared

_DEFAULTS = {"dockerfile": "Dockerfile", "context": ".", "target": None}


def _check(cset: ComposeSet) -> Iterator[Hit]:
    for a, b, service in shared(cset):
        if not (a.builds(service) and b.builds(service)):
            continue
        for key, default in _DEFAULTS.items():
            left, right = a.lookup(service, "build", key), b.lookup(service, "build", key)
            if (left.value if left else default) != (right.value if right else default):
                yield hit(a, b, right, left, f"service {service} build {key}")


RULE = Rule(
    "DY702",
    "Different Dockerfiles in dev and prod",
    "warning",
    "parity",
    ("compose-set",),
    fix="Build dev and prod from the same Dockerfile and target; put dev-only tools in a "
    "separate stage that prod never ships, and test the prod target in CI.",
    check=_check,
)
