"""A finding: one immutable record of one mistake at one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Severity = Literal["error", "warning", "info"]
Category = Literal[
    "bloat", "resources", "secrets", "health", "security", "reproducibility", "parity"
]

SEVERITIES: tuple[Severity, ...] = get_args(Severity)
CATEGORIES: tuple[Category, ...] = get_args(Category)
_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


def severity_rank(severity: str) -> int:
    """Order severities so `--fail-on` can compare them (info < warning < error)."""
    return _RANK[severity]


@dataclass(frozen=True, order=True)
class Finding:
    """One mistake: which rule, where (path; 1-based line, 0 if none), what, and how to fix it.

    The message never holds a secret in full; rules redact before they build it.
    """

    path: str
    line: int
    rule: str
    category: Category
    severity: Severity
    message: str
    fix: str

    def as_dict(self) -> dict[str, object]:
        """The JSON shape: rule, category, severity, path, line, message, fix."""
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
        }
