"""`dockyard serve` runs the whole example pipeline in one process, next to /predict."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.support.procs import Server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


@pytest.mark.slow  # the real front process
def test_serve_runs_every_stage_in_one_process(tmp_path: Path, serve: type[Server]) -> None:
    root = tmp_path / "pipeline"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".dockyard"))
    server = serve(root)
    server.wait("/readyz")
    answer = httpx.post(
        server.url + "/pipeline", json={"input": "what a fantastic day"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["label"] == "positive"
    assert (root / ".dockyard" / "pipeline").is_dir(), "local queues live in the project"
    cleaned = httpx.post(server.url + "/predict", json={"inputs": ["  Hello,   WORLD! "]}).json()
    assert cleaned["outputs"][0] != "  Hello,   WORLD! "
