"""Run Debian's promtool on rendered rules: `check rules` and `test rules` on synthetic series."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.deploy.monitoring import RULES_FILE, render_rules
from dockyard.spec import Spec


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def write_rules(spec: Spec, folder: Path) -> Path:
    path = folder / RULES_FILE
    path.write_text(yaml.safe_dump(render_rules(spec), sort_keys=False), encoding="utf-8")
    return path


def check(rules: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), "check", "rules", str(rules)], capture_output=True, text=True
    )


def test_rules(rules: Path, series: list[dict[str, str]], alerts: list[dict[str, Any]]) -> str:
    """`promtool test rules` with these input series and expected alerts; its output on success.

    Expected alerts without annotations get the rule's summary, with its labels filled in.
    """
    summaries = {
        r["alert"]: r["annotations"]["summary"]
        for g in yaml.safe_load(rules.read_text())["groups"]
        for r in g["rules"]
    }
    for case in alerts:
        for exp in case["exp_alerts"]:
            text = summaries[case["alertname"]]
            for key, value in exp["exp_labels"].items():
                text = text.replace(f"{{{{ $labels.{key} }}}}", value)
            exp.setdefault("exp_annotations", {"summary": text})
    doc = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alerts}],
    }
    path = rules.parent / "test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    done = subprocess.run(
        [promtool(), "test", "rules", path.name], capture_output=True, text=True, cwd=rules.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


test_rules.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test
