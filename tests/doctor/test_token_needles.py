"""The needle prefilter of the token detectors changes no result, only the time a scan takes:
on every planted format and every file of the doctor's fixtures and corpus, `find_tokens`
finds exactly what running every pattern over the whole text finds."""

from __future__ import annotations

from pathlib import Path

from dockyard.detect.tokens import DETECTORS, TokenMatch, find_tokens
from tests.doctor.planted import PLANTED

HERE = Path(__file__).parent
TEXTS = {f"planted: {k}": v for k, v in PLANTED.items()} | {
    str(p.relative_to(HERE)): p.read_text(errors="replace")
    for p in sorted(HERE.rglob("*"))
    if p.is_file() and p.suffix not in (".pyc", ".tar") and p.stat().st_size < 1_000_000
}


def _every_pattern(text: str) -> list[TokenMatch]:
    return [
        TokenMatch(d.kind, m.start(1), m.end(1))
        for d in DETECTORS
        for m in d.pattern.finditer(text)
        if d.valid(m.group(1))
    ]


def test_the_prefilter_finds_what_every_pattern_finds() -> None:
    assert len(TEXTS) > 200
    differ = [
        name
        for name, text in TEXTS.items()
        if [t for t in find_tokens(text) if not t.kind.startswith("AWS")] != _every_pattern(text)
    ]
    assert differ == []


def test_every_planted_provider_token_holds_a_needle_of_its_detector() -> None:
    for label, text in PLANTED.items():
        for detector in DETECTORS:
            for match in detector.pattern.finditer(text):
                assert any(n in match.group(1) or n in match.group(0) for n in detector.needles), (
                    label,
                    detector.kind,
                )
