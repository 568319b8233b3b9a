"""DY703: build arguments (Python, CUDA, base versions) differ between dev and prod."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.composeset import ComposeSet
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules._parity import differing, hit, is_dependency_name, is_model_name, shared


def _plain(name: str) -> bool:
    return not (is_dependency_name(name) or is_model_name(name))


def _check(cset: ComposeSet) -> Iterator[Hit]:
    for a, b, service in shared(cset):
        for name, left, right in differing(a, b, service, ("build", "args"), _plain):
            yield hit(a, b, right, left, f"service {service} build arg {name}")


RULE = Rule(
    "DY703",
    "Different build arguments in dev and prod",
    "warning",
    "parity",
    ("compose-set",),
    fix="Keep versions that shape the image (Python, CUDA, base) identical; set them once in "
    "the base Compose file or as Dockerfile ARG defaults.",
    check=_check,
)
