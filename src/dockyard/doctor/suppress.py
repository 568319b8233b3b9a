"""Inline suppression: `# dockyard: ignore[DY301,DY501] reason` on or just above a line.

A mark at the end of a line covers that line only; a mark on a line of its own covers the next.

A suppression must say why. One without a reason does not suppress, and is reported (DY001).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.doctor.finding import Category, Finding

_MARK = re.compile(r"#\s*dockyard:\s*ignore\[([A-Za-z0-9_, ]+)\]\s*(.*)$")
UNREASONED = "DY001"


@dataclass(frozen=True)
class Suppression:
    line: int
    rules: frozenset[str]
    reason: str
    trailing: bool = False  # after content on its line: covers that line alone


def suppressions(text: str) -> list[Suppression]:
    """Every suppression comment in a file, with its 1-based line."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _MARK.search(line)
        if match:
            ids = frozenset(i.strip().upper() for i in match.group(1).split(",") if i.strip())
            trailing = bool(line[: match.start()].strip())
            out.append(Suppression(number, ids, match.group(2).strip(), trailing))
    return out


def apply(
    findings: Iterable[Finding], text: str, path: str, categories: dict[str, Category]
) -> list[Finding]:
    """Drop findings a reasoned suppression covers; report suppressions without a reason."""
    marks = suppressions(text)
    covered = {
        (line, r)
        for s in marks
        if s.reason
        for line in ((s.line,) if s.trailing else (s.line, s.line + 1))
        for r in s.rules
    }
    kept = [f for f in findings if (f.line, f.rule) not in covered]
    kept.extend(_unreasoned(s, path, categories) for s in marks if not s.reason)
    return kept


def _unreasoned(mark: Suppression, path: str, categories: dict[str, Category]) -> Finding:
    first = sorted(mark.rules)[0] if mark.rules else ""
    return Finding(
        path=path,
        line=mark.line,
        rule=UNREASONED,
        category=categories.get(first, "security"),
        severity="warning",
        message=f"suppression of {', '.join(sorted(mark.rules))} gives no reason, so it is "
        "not applied",
        fix="Say why after the bracket: `# dockyard: ignore[DY501] init container needs root "
        "to chown the volume`.",
    )
