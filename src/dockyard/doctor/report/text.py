"""Text report: findings grouped by file, each with the offending line and the fix."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from dockyard.detect.secrets import redact_text
from dockyard.doctor.checker import Report
from dockyard.doctor.finding import Finding


def render_text(report: Report) -> str:
    if not report.findings:
        return "No findings."
    blocks = [
        _file_block(path, list(group), report.sources.get(path))
        for path, group in groupby(report.findings, key=lambda f: f.path)
    ]
    return "\n\n".join([*blocks, _summary(report.findings)])


def _file_block(path: str, findings: list[Finding], source: str | None) -> str:
    lines = source.splitlines() if source else []
    out = [path]
    for f in findings:
        where = f"{f.line:>4}" if f.line else "   -"
        out.append(f"{where}  {f.severity:<7}  {f.rule}  {f.message}")
        if 0 < f.line <= len(lines):
            out.append(f"      | {redact_text(lines[f.line - 1].strip())[:160]}")
        out.append(f"      fix: {f.fix}")
    return "\n".join(out)


def _summary(findings: list[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [
        f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}"
        for s in ("error", "warning", "info")
        if counts[s]
    ]
    return f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {', '.join(parts)}"
