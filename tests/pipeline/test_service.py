"""The HTTP front in-process, with every stage in it (the development mode)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.pipeline.conftest import make_pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


FrontApp = Callable[..., TestClient]


@pytest.fixture
def example(tmp_path: Path, front_app: FrontApp) -> TestClient:
    return front_app(EXAMPLE, queue_dir=tmp_path / "queues")


def test_example_classifies_text_synchronously(example: TestClient) -> None:
    happy = example.post("/pipeline", json={"input": "What a WONDERFUL day!!"})
    sad = example.post("/pipeline", json={"input": "rude staff, awful and slow"})
    assert happy.status_code == 200, happy.text
    assert happy.json()["output"]["label"] == "positive"
    assert sad.json()["output"]["label"] == "negative"
    assert 0.5 <= sad.json()["output"]["probability"] <= 1


def test_example_runs_long_work_as_a_job(example: TestClient) -> None:
    submitted = example.post("/pipeline/jobs", json={"input": "great fun"})
    assert submitted.status_code == 202
    item = submitted.json()["id"]
    deadline = time.monotonic() + 10
    while (body := example.get(f"/pipeline/jobs/{item}").json())["state"] != "done":
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    assert body["output"]["label"] == "positive"
    assert [s["name"] for s in body["stages"]] == ["clean", "features", "classify"]


def test_input_the_first_stage_refuses_is_a_422_naming_the_stage(example: TestClient) -> None:
    response = example.post("/pipeline", json={"input": ""})
    assert response.status_code == 422
    assert response.json()["item"]["stage"] == "clean"
    assert response.json()["item"]["stages"][0]["attempts"] == 1


def test_unknown_items_and_bad_requests(example: TestClient) -> None:
    assert example.get("/pipeline/jobs/nope").status_code == 404
    assert example.post("/pipeline", json={"text": "x"}).status_code == 422
    assert example.post("/pipeline", content=b"{").status_code == 400


def test_same_idempotency_key_is_one_item(example: TestClient) -> None:
    body = {"input": "lovely", "idempotency_key": "k-1"}
    first = example.post("/pipeline/jobs", json=body).json()["id"]
    again = example.post("/pipeline/jobs", json=body).json()["id"]
    assert first == again


def test_per_stage_metrics_and_stats(example: TestClient) -> None:
    for text in ("good", "bad", "great"):
        example.post("/pipeline", json={"input": text}).raise_for_status()
    metrics = example.get("/pipeline/metrics").text
    for stage in ("clean", "features", "classify"):
        assert f'dockyard_pipeline_items_total{{outcome="ok",stage="{stage}"}} 3.0' in metrics
        assert f'dockyard_pipeline_queue{{stage="{stage}",state="done"}} 3.0' in metrics
        assert f'dockyard_pipeline_process_seconds_count{{stage="{stage}"}}' in metrics
    assert 'dockyard_pipeline_latency_seconds_count{stage="classify"} 3.0' in metrics
    stats = example.get("/pipeline/stats").json()
    assert stats["classify"]["done"] == 3


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_sync_call_that_outlives_its_timeout_answers_504_with_the_id(
    tmp_path: Path, front_app: FrontApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPE_SLEEP_S", "2")
    front = front_app(make_pipeline(tmp_path, [("length", {})]))
    response = front.post("/pipeline?timeout=0.3", json={"input": "abc"})
    assert response.status_code == 504
    item = response.json()["item"]["id"]
    deadline = time.monotonic() + 10
    while front.get(f"/pipeline/jobs/{item}").json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert front.get(f"/pipeline/jobs/{item}").json()["output"] == 3


def test_a_failing_item_dead_letters_at_its_stage_and_can_be_retried(
    tmp_path: Path, front_app: FrontApp
) -> None:
    options = {"max_attempts": 2, "backoff_s": 0.01}
    front = front_app(make_pipeline(tmp_path, [("length", {}), ("fragile", options)]))
    failed = front.post("/pipeline", json={"input": "x" * 13})
    fine = front.post("/pipeline", json={"input": "x" * 12})
    assert failed.status_code == 500
    item = failed.json()["item"]
    assert (item["stage"], item["state"]) == ("fragile", "dead")
    # the model's exception stays in the worker log (serving.expose_errors shows it)
    assert "unlucky" not in item["error"] and "worker log" in item["error"]
    assert item["stages"][1]["attempts"] == 2
    assert fine.json()["output"] == 24
    retried = front.post("/pipeline/dead/retry").json()["retried"]
    assert retried == {"length": 0, "fragile": 1}
