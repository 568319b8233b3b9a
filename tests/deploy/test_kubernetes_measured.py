"""`dockyard k8s` sizes startup probes from the start-up `dockyard test` measured (#15)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.image.measured import measured_ready_s, save_startup, startup_line
from tests.deploy.kube import staged_project


def _startup_probe(root: Path) -> tuple[dict[str, object], str]:
    done = CliRunner().invoke(app, ["k8s", str(root), "--flat"])
    assert done.exit_code == 0, done.output
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    [api] = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "echo-api"]
    [container] = api["spec"]["template"]["spec"]["containers"]
    return container["startupProbe"], done.stderr


def test_the_last_gate_measurement_sizes_the_startup_probe(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    default, said = _startup_probe(root)
    assert default["failureThreshold"] == 120 and "sized from" not in said  # 600 s / 5 s
    report = {"ready_s": 42.0, "phases_s": {"setup": 40.0}}
    assert save_startup(root, "echo:0.1.0", report) == root / ".dockyard" / "startup.json"
    assert measured_ready_s(root) == 42.0
    measured, said = _startup_probe(root)
    assert measured["failureThreshold"] == 26, measured  # 42 s x 3 margin / 5 s, rounded up
    assert "startup probes sized from .dockyard/startup.json: ready in 42.0s" in said


def test_a_report_without_readiness_is_not_kept(tmp_path: Path) -> None:
    assert save_startup(tmp_path, "x:1", {"ready_s": None, "phases_s": {}}) is None
    assert measured_ready_s(tmp_path) is None
    (tmp_path / ".dockyard").mkdir()
    (tmp_path / ".dockyard" / "startup.json").write_text("{not json")
    assert measured_ready_s(tmp_path) is None


def test_the_build_report_shows_the_last_measured_start_up(tmp_path: Path) -> None:
    assert "not measured yet" in startup_line(tmp_path)
    save_startup(
        tmp_path, "echo:0.1.0", {"ready_s": 2.5, "phases_s": {"dockyard": 0.3, "setup": 2.0}}
    )
    line = startup_line(tmp_path)
    assert "ready in 2.50s (dockyard 0.30s, setup 2.00s)" in line and "echo:0.1.0" in line
