"""`dockyard monitor` writes rules, dashboard and baseline; `dockyard status` prints the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dockyard.errors import DockyardError
from dockyard.runtime.monitor.baseline import load_baseline
from dockyard.spec import load_spec
from tests.conftest import Server
from tests.monitoring.conftest import digits, project
from tests.monitoring.promtool import check

Serve = type[Server]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dockyard.cli.main", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_monitor_writes_rules_dashboard_and_a_baseline_with_the_spec_hash(tmp_path: Path) -> None:
    root = digits(tmp_path / "digits")
    done = cli("monitor", str(root), "--job", "prod-digits")
    assert done.returncode == 0, done.stderr
    rules = root / "monitoring" / "dockyard.rules.yml"
    assert check(rules).returncode == 0
    assert 'job="prod-digits"' in rules.read_text()
    dashboard = json.loads((root / "monitoring" / "dockyard.dashboard.json").read_text())
    assert dashboard["title"] == "Dockyard: digits"
    baseline = load_baseline(root / "dockyard.baseline.json")
    assert baseline.spec_sha256 == load_spec(root).digest()
    assert baseline.rows == 368 and len(baseline.inputs) == 64
    assert {f.name for f in baseline.predictions} == {"label", "probability"}


def test_monitor_without_data_says_what_to_add(tmp_path: Path) -> None:
    root = project(tmp_path / "p", "profile", "Profile")
    done = cli("monitor", str(root))
    assert done.returncode == 0
    assert "no baseline: set gate.eval or health.golden" in done.stdout


def test_status_prints_the_key_figures(tmp_path: Path, serve: Serve) -> None:
    server = serve(digits(tmp_path / "digits"))
    server.wait("/readyz")
    row = json.loads((tmp_path / "digits" / "eval.jsonl").read_text().splitlines()[0])
    for _ in range(3):
        httpx.post(server.url + "/predict", json={"inputs": [row["input"]]})
    done = cli("status", server.url)
    assert done.returncode == 0, done.stderr
    assert "digits v1 at " + server.url in done.stdout
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in done.stdout.splitlines() if line.count("│") == 3}  # fmt: skip
    assert lines["canary"] == "passing" and lines["state"] == "ready"
    assert lines["5xx errors"] == "0"


def test_status_of_a_service_that_is_not_running_is_a_clear_error() -> None:
    done = cli("status", "http://127.0.0.1:9")
    assert done.returncode == DockyardError.exit_code
    text = " ".join(done.stderr.split())  # rich wraps long lines
    assert "http://127.0.0.1:9: not reachable" in text and "is the service running?" in text


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
