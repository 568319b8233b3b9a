"""SARIF 2.1.0, so CI code scanning shows the findings next to the code."""

from __future__ import annotations

import json
from urllib.parse import quote

from dockyard import __version__
from dockyard.doctor.checker import Report
from dockyard.doctor.finding import Finding
from dockyard.doctor.registry import RULES
from dockyard.doctor.rule import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render_sarif(report: Report) -> str:
    rules = list(RULES)
    index = {rule.id: i for i, rule in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "dockyard-doctor",
                "version": __version__,
                "informationUri": "https://github.com/dockyard/dockyard",
                "rules": [_rule(rule) for rule in rules],
            }
        },
        "results": [_result(f, index) for f in report.findings],
    }
    return json.dumps(
        {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False
    )


def _rule(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.title.replace("/", " ").split()),
        "shortDescription": {"text": rule.title},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"category": rule.category, "tags": [rule.category]},
    }


def _result(finding: Finding, index: dict[str, int]) -> dict[str, object]:
    location: dict[str, object] = {"artifactLocation": {"uri": quote(finding.path, safe="/.")}}
    if finding.line > 0:
        location["region"] = {"startLine": finding.line}
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "level": _LEVELS[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
        "locations": [{"physicalLocation": location}],
        "properties": {"category": finding.category},
    }
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    return result
