"""The start-up breakdown: where a real server's time to ready went, phase by phase (#17)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from dockyard.image.startup import describe_startup
from dockyard.runtime.startup import PHASES, StartupClock
from tests.support.procs import Server

FIXTURE = Path(__file__).parents[1] / "image" / "fixtures" / "linear"
IMPORT_S, SETUP_S = 0.6, 0.4


def slow_project(root: Path) -> Path:
    """The linear fixture, with a slow module import and a slow setup()."""
    shutil.copytree(FIXTURE, root)
    model = root / "model.py"
    text = model.read_text().replace(
        "import json\n", f"import json\nimport time\n\ntime.sleep({IMPORT_S})\n", 1
    )
    text = text.replace(
        "    def setup(self) -> None:\n",
        f"    def setup(self) -> None:\n        time.sleep({SETUP_S})\n",
        1,
    )
    model.write_text(text)
    (root / ".dockyard" / "secrets").mkdir(parents=True)
    (root / ".dockyard" / "secrets" / "api_token").write_text("t")
    return root


@pytest.mark.slow
def test_readyz_says_where_the_start_up_time_went(tmp_path: Path) -> None:
    server = Server(slow_project(tmp_path / "linear"))
    try:
        server.wait("/readyz", timeout=60)
        startup = httpx.get(f"{server.url}/readyz").json()["startup"]
        phases = startup["phases_s"]
        assert list(phases) == list(PHASES), startup
        assert phases["model_import"] >= IMPORT_S and phases["setup"] >= SETUP_S, startup
        assert phases["interpreter"] > 0 and phases["dockyard"] > 0, startup
        assert startup["ready_s"] == pytest.approx(sum(phases.values()), abs=0.01), startup
        assert startup["first_answer_s"] is None
        assert httpx.post(f"{server.url}/predict", json={"inputs": [[1, 2, 3]]}).status_code == 200
        answered = httpx.get(f"{server.url}/readyz").json()["startup"]["first_answer_s"]
        assert answered is not None and answered >= startup["ready_s"]
    finally:
        server.stop()
    started = [line for line in server.log.read_text().splitlines() if '"started"' in line]
    assert len(started) == 1 and '"model_import"' in started[0], server.log.read_text()


def test_a_clock_without_proc_starts_at_dockyards_import() -> None:
    clock = StartupClock(started=None, dockyard_imported=None)
    clock.started, clock.marks = None, {}  # as on a system without /proc
    clock.origin = 100.0
    clock.marks.update({"dockyard": 100.5, "model_import": 101.0, "canary": 101.25})
    report = clock.report()
    assert report == {
        "phases_s": {"dockyard": 0.5, "model_import": 0.5, "canary": 0.25},
        "ready_s": 1.25,
        "first_answer_s": None,
    }
    assert describe_startup(report) == "dockyard 0.50s, model import 0.50s, canary 0.25s"
    with pytest.raises(ValueError, match="unknown start-up phase 'warmup'"):
        clock.mark("warmup")
