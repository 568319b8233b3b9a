"""Shared reading for the parity rules: which settings differ between two Compose variants."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dockyard.detect.secrets import name_words
from dockyard.doctor.parse.composeset import ComposeSet, Located, Variant
from dockyard.doctor.rule import Hit

DEPENDENCY_WORDS = frozenset(
    {
        "REQUIREMENTS",
        "REQUIREMENT",
        "EXTRAS",
        "DEPS",
        "DEPENDENCIES",
        "GROUPS",
        "GROUP",
        "INSTALL",
        "LOCK",
        "CONSTRAINTS",
    }
)


def is_dependency_name(name: str) -> bool:
    return bool(DEPENDENCY_WORDS & set(name_words(name)))


def is_model_name(name: str) -> bool:
    return "MODEL" in name_words(name)


def shared(cset: ComposeSet) -> Iterator[tuple[Variant, Variant, str]]:
    """(a, b, service) for each pair of variants and each service both define."""
    for a, b in cset.pairs:
        for service in sorted(a.services() & b.services()):
            yield a, b, service


def hit(a: Variant, b: Variant, where: Located | None, other: Located | None, what: str) -> Hit:
    """A hit at `where` (else `other`), naming both values."""
    spot = where or other
    left = other.value if other else "unset"
    right = where.value if where else "unset"
    return Hit(
        spot.line if spot else 0,
        f"{what}: {left!s} in {a.label} but {right!s} in {b.label}",
        spot.path if spot else b.label,
    )


def differing(
    a: Variant, b: Variant, service: str, keys: tuple[str, ...], wanted: Callable[[str], bool]
) -> Iterator[tuple[str, Located | None, Located | None]]:
    """Keys of the mapping at `keys` that `wanted` selects and whose values differ."""
    left, right = a.mapping(service, *keys), b.mapping(service, *keys)
    for name in sorted(set(left) | set(right)):
        if wanted(name) and _value(left.get(name)) != _value(right.get(name)):
            yield name, left.get(name), right.get(name)


def _value(located: Located | None) -> object:
    return None if located is None else located.value
