"""`--format github`: GitHub Actions workflow commands, one per finding, escaped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app, main
from dockyard.doctor import Finding, Report
from dockyard.doctor.report import render_github

FIXTURES = Path(__file__).parent / "fixtures"


def _finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "path": "deploy/Dockerfile",
        "line": 3,
        "rule": "DY302",
        "category": "secrets",
        "severity": "error",
        "message": "RUN contains a secret",
        "fix": "Rotate it.",
    }
    return Finding(**{**values, **changes})  # type: ignore[arg-type]


def test_one_workflow_command_per_finding() -> None:
    report = Report(findings=[_finding(), _finding(severity="info", line=0, rule="DY205")])
    assert render_github(report).splitlines() == [
        "::error file=deploy/Dockerfile,line=3,title=DY302 secrets::"
        "RUN contains a secret. Fix: Rotate it.",
        "::notice file=deploy/Dockerfile,title=DY205 secrets::"
        "RUN contains a secret. Fix: Rotate it.",
    ]


def test_properties_and_message_are_escaped() -> None:
    odd = _finding(path="a,b:c.yaml", message="50% done\nnext", severity="warning")
    assert render_github(Report(findings=[odd])) == (
        "::warning file=a%2Cb%3Ac.yaml,line=3,title=DY302 secrets::"
        "50%25 done%0Anext. Fix: Rotate it."
    )


def test_cli_prints_github_annotations_and_exits_eight(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = FIXTURES / "DY301" / "fail.Dockerfile"
    with pytest.raises(SystemExit) as exc:
        main(["doctor", str(fixture), "--format", "github"])
    assert exc.value.code == 8
    lines = capsys.readouterr().out.splitlines()
    assert any(
        ln.startswith(f"::error file={fixture},line=2,title=DY301 secrets::") for ln in lines
    )
    assert all(ln.startswith(("::error ", "::warning ", "::notice ")) for ln in lines)


def test_cli_accepts_github_format() -> None:
    fixture = FIXTURES / "DY104" / "fail.Dockerfile"
    result = CliRunner().invoke(app, ["doctor", str(fixture), "--format", "github"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("::warning file=")
