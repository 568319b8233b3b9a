"""The corpus: realistic AI container files. Bad files mark each planted mistake with
`# expect: DY...` on its line (stripped before checking); good files must raise nothing above info.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dockyard.doctor import check_paths

CORPUS = Path(__file__).parent / "corpus"
EXPECT = re.compile(r"\s*# expect: ([A-Z0-9, ]+)$")


def strip_expectations(source: Path, target: Path) -> set[tuple[str, int, str]]:
    """Copy a corpus tree without the expect comments; return (file, line, rule) expected."""
    expected = set()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                rel = str(path.relative_to(source))
                expected |= {(rel, number, r.strip()) for r in match.group(1).split(",")}
                line = line[: match.start()]
            lines.append(line)
        out.write_text("\n".join(lines) + "\n")
    return expected


def _found(root: Path) -> set[tuple[str, int, str]]:
    report = check_paths([root])
    return {(str(Path(f.path).relative_to(root)), f.line, f.rule) for f in report.findings}


def test_bad_corpus_every_planted_mistake_at_its_line(tmp_path: Path) -> None:
    expected = strip_expectations(CORPUS / "bad", tmp_path)
    found = _found(tmp_path)
    assert expected - found == set(), "missed"
    assert found - expected == set(), "unexpected"


def test_good_corpus_is_quiet(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "good", tmp_path, dirs_exist_ok=True)
    noisy = [f for f in check_paths([tmp_path]).findings if f.severity != "info"]
    assert noisy == []


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "good").glob("*.Dockerfile")))
def test_good_dockerfiles_pass_at_info(name: str) -> None:
    report = check_paths([CORPUS / "good" / name])
    assert [f.rule for f in report.findings] == []
