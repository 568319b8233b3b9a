"""DY704: dev and prod install different dependency sets."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.composeset import ComposeSet
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules._parity import differing, hit, is_dependency_name, shared


def _check(cset: ComposeSet) -> Iterator[Hit]:
    for a, b, service in shared(cset):
        for keys in (("build", "args"), ("environment",)):
            for name, left, right in differing(a, b, service, keys, is_dependency_name):
                yield hit(a, b, right, left, f"service {service} {name}")


RULE = Rule(
    "DY704",
    "Different dependency sets in dev and prod",
    "warning",
    "parity",
    ("compose-set",),
    fix="Install the same locked dependency set everywhere; add dev tools in a separate layer "
    "or stage on top of it rather than a different requirements file.",
    check=_check,
)
