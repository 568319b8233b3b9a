"""/status on the pipeline front (in-process, real stages): the figures come from its metrics."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from dockyard.runtime.monitor.status import parse, summarize
from dockyard.runtime.pipeline.front import create_front
from dockyard.spec import load_spec
from tests.pipeline.conftest import make_pipeline


def test_pipeline_front_status_matches_its_metrics(tmp_path: Path) -> None:
    root = make_pipeline(tmp_path / "pipe", [("shout", {}), ("length", {})])
    app = create_front(load_spec(root), root, {}, local=True)
    with TestClient(app) as client:
        for text in ("a", "bb", "ccc"):
            assert client.post("/pipeline", json={"input": text}).status_code == 200
        page = client.get("/status")
        assert page.status_code == 200 and "status.json" in page.text
        body = client.get("/status.json").json()
        metrics = client.get("/pipeline/metrics").text
    assert body["model"] == "pipeline"
    expected = summarize(parse(metrics))
    assert body["figures"]["requests"] == expected["requests"] == 6  # 3 items x 2 stages
    assert body["figures"]["queue_depth"] == 0
    assert body["figures"]["latency_p95_ms"] == expected["latency_p95_ms"]
