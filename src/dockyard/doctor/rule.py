"""The rule contract: a stable id, a title, a severity, a category, targets and a stateless check.

A rule is a module-level `Rule` value whose `check` takes one parsed artifact and yields what it
found as `Hit`s (line and message); the rule turns hits into `Finding`s so every finding carries
the rule's id, category, severity and fix. Example::

    def _check(df: Dockerfile) -> Iterator[Hit]:
        for ins in df.final.instructions:
            if ins.keyword == "RUN" and "sudo " in ins.args:
                yield Hit(ins.line, "RUN uses sudo")

    RULE = Rule("DY502", "sudo in the image", "warning", "security", ("dockerfile",),
                fix="Drop sudo: RUN already runs as root at build time.", check=_check)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from dockyard.doctor.finding import Category, Finding, Severity

Target = Literal["dockerfile", "compose", "k8s", "image", "compose-set", "context"]


@dataclass(frozen=True)
class Hit:
    """Where a rule matched and what it saw; the rule adds the rest."""

    line: int
    message: str
    path: str | None = None  # only rules over several files (compose-set) say which one


@dataclass(frozen=True)
class Rule:
    """One doctor rule. `check` must be pure: same artifact, same hits."""

    id: str
    title: str
    severity: Severity
    category: Category
    targets: tuple[Target, ...]
    fix: str
    check: Callable[[Any], Iterable[Hit]]

    def run(self, artifact: Any, path: str) -> Iterator[Finding]:
        """Check one artifact and turn each hit into a finding at `path`."""
        for hit in self.check(artifact):
            yield Finding(
                path=hit.path or path,
                line=hit.line,
                rule=self.id,
                category=self.category,
                severity=self.severity,
                message=hit.message,
                fix=self.fix,
            )
