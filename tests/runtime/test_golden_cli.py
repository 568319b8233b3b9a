"""`dockyard golden` writes the canary from the local model; `predict` and `serve` run without
one, warning that readiness has no canary (issue 10, item 3). Real CLI processes, real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.fixtures.projects import make_project

CLI = [sys.executable, "-m", "dockyard.cli.main"]


def dockyard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def with_missing_golden(root: Path) -> Path:
    """A project whose spec names golden.jsonl before it exists (the chicken-and-egg)."""
    make_project(root, "wrong_canary", health={"golden": "golden.jsonl"})
    return root


def test_predict_runs_without_golden_samples_and_warns(tmp_path: Path) -> None:
    root = with_missing_golden(tmp_path)
    done = dockyard("predict", str(root), "--input", "1.5")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 3.0
    assert "readiness has no canary" in done.stderr and "dockyard golden" in done.stderr


def test_golden_writes_samples_from_json_lines_then_serve_is_ready(
    tmp_path: Path, serve: type[Server]
) -> None:
    root = with_missing_golden(tmp_path / "proj")
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("1.0\n2.5\n-4\n")
    done = dockyard("golden", str(root), "--inputs", str(inputs))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in (root / "golden.jsonl").read_text().splitlines()]
    assert lines == [
        {"input": 1.0, "output": 2.0},
        {"input": 2.5, "output": 5.0},
        {"input": -4, "output": -8.0},
    ]
    server = serve(root)
    server.wait("/readyz")
    assert "golden_samples" in server.log.read_text()


def test_golden_reads_a_json_array_and_refuses_to_overwrite(tmp_path: Path) -> None:
    root = with_missing_golden(tmp_path / "proj")
    inputs = tmp_path / "inputs.json"
    inputs.write_text("[0.5, 1]")
    assert dockyard("golden", str(root), "--inputs", str(inputs)).returncode == 0
    before = (root / "golden.jsonl").read_text()
    again = dockyard("golden", str(root), "--inputs", str(inputs))
    assert again.returncode == 1 and "--force" in again.stderr
    inputs.write_text("[3]")
    forced = dockyard("golden", str(root), "--inputs", str(inputs), "--force")
    assert forced.returncode == 0 and (root / "golden.jsonl").read_text() != before
    assert json.loads((root / "golden.jsonl").read_text()) == {"input": 3, "output": 6.0}


def test_golden_without_a_spec_entry_says_how_to_use_them(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", "echo")
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('"a"\n"b"\n')
    done = dockyard("golden", str(root), "--inputs", str(inputs))
    assert done.returncode == 0, done.stderr
    assert 'golden = "golden.jsonl"' in done.stdout
    assert (root / "golden.jsonl").read_text() == (
        '{"input": "a", "output": "a"}\n{"input": "b", "output": "b"}\n'
    )


def test_serve_without_golden_file_is_ready_and_logs_the_warning(
    tmp_path: Path, serve: type[Server]
) -> None:
    server = serve(with_missing_golden(tmp_path))
    server.wait("/readyz")
    assert httpx.post(server.url + "/predict", json={"inputs": [1.0]}).json() == {"outputs": [2.0]}
    assert "readiness has no canary" in server.log.read_text()


# Real server processes: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow


SECRET_MODEL = """
from dockyard import Model


class Keyed(Model[str, str]):
    def setup(self) -> None:
        self.key = self.secrets["api_key"].read_text().strip()

    def predict(self, batch: list[str]) -> list[str]:
        return [f"{x}:{self.key}" for x in batch]
"""


def keyed_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "model.py").write_text(SECRET_MODEL)
    spec = '[project]\nname = "keyed"\n\n[model]\nentrypoint = "model:Keyed"\n'
    (root / "dockyard.toml").write_text('secrets = ["api_key"]\n\n' + spec)
    return root


def test_predict_and_golden_take_secrets_like_run_and_test(tmp_path: Path) -> None:
    root = keyed_project(tmp_path / "p")
    key_file = tmp_path / "key.txt"
    key_file.write_text("from-flag\n")
    flagged = dockyard("predict", str(root), "-i", '"a"', "--secret", f"api_key={key_file}")
    assert flagged.returncode == 0, flagged.stderr
    assert json.loads(flagged.stdout) == "a:from-flag"
    env = {**os.environ, "DOCKYARD_SECRET_API_KEY": "from-env"}
    done = subprocess.run(
        [*CLI, "predict", str(root), "-i", '"b"'], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "b:from-env"
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('"c"\n')
    golden = dockyard(
        "golden", str(root), "--inputs", str(inputs), "--secret", f"api_key={key_file}"
    )
    assert golden.returncode == 0, golden.stderr
    assert "c:from-flag" in (root / "golden.jsonl").read_text()
