"""Every rule against its own pass and fail fixtures: fail must trigger it, pass must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.doctor import RULES, Finding, check_image, check_paths, check_text
from dockyard.doctor.checker import Kind
from dockyard.doctor.rule import Rule
from tests.doctor.imagetar import image_from_json

FIXTURES = Path(__file__).parent / "fixtures"
KINDS: dict[str, Kind] = {
    ".Dockerfile": "dockerfile",
    ".compose.yaml": "compose",
    ".k8s.yaml": "k8s",
}


def _findings(fixture: Path) -> list[Finding]:
    if fixture.is_dir():
        return check_paths([fixture]).findings
    if fixture.name.endswith(".image.json"):
        return check_image(image_from_json(fixture))
    kind = next(k for suffix, k in KINDS.items() if fixture.name.endswith(suffix))
    return check_text(kind, fixture.read_text(), str(fixture))


def _cases() -> list[object]:
    cases = []
    for rule in RULES:
        for fixture in sorted((FIXTURES / rule.id).glob("*")):
            cases.append(pytest.param(rule.id, fixture, id=f"{rule.id}-{fixture.name}"))
    return cases


@pytest.mark.parametrize(("rule_id", "fixture"), _cases())
def test_rule_fixture(rule_id: str, fixture: Path) -> None:
    hits = [f for f in _findings(fixture) if f.rule == rule_id]
    if fixture.name.startswith("fail"):
        assert hits, f"{rule_id} did not fire on {fixture.name}"
        assert all(f.line > 0 for f in hits) or fixture.name.endswith(".image.json")
    else:
        assert not hits, [f.message for f in hits]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_every_rule_has_both_fixtures(rule: object) -> None:
    names = [p.name for p in (FIXTURES / rule.id).glob("*")]  # type: ignore[attr-defined]
    assert any(n.startswith("pass") for n in names)
    assert any(n.startswith("fail") for n in names)


TARGET_FIXTURE = {
    "dockerfile": lambda p: p.name.endswith(".Dockerfile"),
    "compose": lambda p: p.name.endswith(".compose.yaml"),
    "k8s": lambda p: p.name.endswith(".k8s.yaml"),
    "image": lambda p: p.name.endswith(".image.json"),
    "compose-set": lambda p: p.is_dir() and any(p.glob("compose*.yaml")),  # a folder of files
    "context": lambda p: p.is_dir() and (p / "Dockerfile").is_file(),  # a Dockerfile's folder
}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_fixture_covers_each_target(rule: Rule) -> None:
    fails = list((FIXTURES / rule.id).glob("fail*"))
    for target in rule.targets:
        assert any(TARGET_FIXTURE[target](p) for p in fails), f"no fail fixture for {target}"


def test_rule_ids_are_unique_and_families_match() -> None:
    families = {
        "1": "bloat",
        "2": "resources",
        "3": "secrets",
        "4": "health",
        "5": "security",
        "6": "reproducibility",
        "7": "parity",
    }
    assert len({r.id for r in RULES}) == len(RULES)
    for rule in RULES:
        assert families[rule.id[2]] == rule.category, rule.id
