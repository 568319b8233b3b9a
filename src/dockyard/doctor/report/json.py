"""JSON report: `{"findings": [{rule, category, severity, path, line, message, fix}]}`."""

from __future__ import annotations

import json

from dockyard.doctor.checker import Report


def render_json(report: Report) -> str:
    return json.dumps(
        {"findings": [f.as_dict() for f in report.findings]}, indent=2, ensure_ascii=False
    )
