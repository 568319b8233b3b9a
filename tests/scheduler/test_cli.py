"""The scheduler as a real process, driven from the CLI: trigger now, the history table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dockyard.cli import patterns
from dockyard.cli.main import main

SPEC = """
[project]
name = "sched"
[model]
entrypoint = "model:M"
[[schedules]]
name = "report"
cron = "0 3 * * *"
command = ["{python}", "-c", "import os; print('run', os.environ['DOCKYARD_RUN_ID'])"]
[[schedules]]
name = "broken"
cron = "@hourly"
command = ["{python}", "-c", "raise SystemExit(4)"]
"""


def project(root: Path) -> Path:
    (root / "dockyard.toml").write_text(SPEC.format(python=sys.executable))
    (root / "model.py").write_text("from dockyard import Model\nclass M(Model[int, int]): pass\n")
    return root


def cli() -> typer.Typer:
    app = typer.Typer()
    patterns.register(app)
    return app


@pytest.mark.slow  # a real scheduler process
def test_trigger_a_running_scheduler_and_show_the_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockyard.runtime.scheduler", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ),
    )  # fmt: skip
    try:
        runner = CliRunner()
        done = runner.invoke(cli(), ["runs", str(root), "--trigger", "report", "--wait", "20"])
        assert done.exit_code == 0, done.output
        assert "report" in done.output and "succeeded" in done.output and "run 1" in done.output
        listed = runner.invoke(cli(), ["runs", str(root), "--json"])
        [record] = [json.loads(line) for line in listed.output.splitlines()]
        assert (record["job"], record["trigger"], record["exit_code"]) == ("report", "manual", 0)
        assert record["log_tail"] == "run 1" and record["ended_at"] >= record["started_at"]
        with pytest.raises(SystemExit) as unknown:
            main(["runs", str(root), "--trigger", "nope"])
        assert unknown.value.code == 2  # SpecError: the spec has no such schedule
        error = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
        assert "schedules: found nope; expected one of: report, broken" in error
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


@pytest.mark.slow  # a real scheduler process
def test_run_once_exits_with_the_jobs_exit_code(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.runtime.scheduler", str(root), "--run", "broken"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 4
    assert json.loads(done.stdout)["state"] == "failed"
