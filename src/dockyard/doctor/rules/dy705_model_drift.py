"""DY705: dev and prod serve different model versions."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.composeset import ComposeSet
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.rules._parity import differing, hit, is_model_name, shared


def _check(cset: ComposeSet) -> Iterator[Hit]:
    for a, b, service in shared(cset):
        for keys in (("environment",), ("build", "args")):
            for name, left, right in differing(a, b, service, keys, is_model_name):
                yield hit(a, b, right, left, f"service {service} {name}")


RULE = Rule(
    "DY705",
    "Different model versions in dev and prod",
    "warning",
    "parity",
    ("compose-set",),
    fix="Pin one model id and revision (e.g. a Hugging Face commit) in the base file so dev "
    "tests what prod serves.",
    check=_check,
)
