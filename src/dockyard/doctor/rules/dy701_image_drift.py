"""DY701: a service runs a different image or tag in dev and prod."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.composeset import ComposeSet
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules._parity import hit, shared


def _check(cset: ComposeSet) -> Iterator[Hit]:
    for a, b, service in shared(cset):
        if a.builds(service) or b.builds(service):
            continue  # a built service's image is just the name of the result; DY702 compares
        left, right = a.lookup(service, "image"), b.lookup(service, "image")
        if left and right and left.value != right.value:
            yield hit(a, b, right, left, f"service {service} image")


RULE = Rule(
    "DY701",
    "Different images in dev and prod",
    "warning",
    "parity",
    ("compose-set",),
    fix="Run the same image (same tag, ideally the same digest) everywhere; vary only "
    "configuration through environment and mounts.",
    check=_check,
)
