"""GitHub Actions workflow commands: one `::error file=..,line=..,title=..::message` per finding.

For repositories without code scanning (SARIF): the runner turns each line into an annotation
on the pull request. Escaping follows the runner's rules (`%`, CR, LF everywhere; `:` and `,`
in properties too).
"""

from __future__ import annotations

from dockyard.doctor.checker import Report
from dockyard.doctor.finding import Finding

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(report: Report) -> str:
    return "\n".join(_command(f) for f in report.findings)


def _command(f: Finding) -> str:
    props = [f"file={_prop(f.path)}"]
    if f.line:
        props.append(f"line={f.line}")
    props.append(f"title={_prop(f'{f.rule} {f.category}')}")
    return f"::{_LEVEL[f.severity]} {','.join(props)}::{_data(f'{f.message}. Fix: {f.fix}')}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
