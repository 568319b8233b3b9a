"""The HTTP front over real HTTP, with every stage in its process (the development mode)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.pipeline.conftest import Front, Proc, make_pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline"


@pytest.fixture
def example(tmp_path: Path, procs: list[Proc]) -> Front:
    queues = {"DOCKYARD_PIPELINE_QUEUE_DIR": str(tmp_path / "queues")}
    front = Front(EXAMPLE, env=queues, log=tmp_path / "front.log")
    procs.append(front)
    front.wait_ready()
    return front


def test_example_classifies_text_synchronously(example: Front) -> None:
    happy = httpx.post(example.url + "/pipeline", json={"input": "What a WONDERFUL day!!"})
    sad = httpx.post(example.url + "/pipeline", json={"input": "rude staff, awful and slow"})
    assert happy.status_code == 200, happy.text
    assert happy.json()["output"]["label"] == "positive"
    assert sad.json()["output"]["label"] == "negative"
    assert 0.5 <= sad.json()["output"]["probability"] <= 1


def test_example_runs_long_work_as_a_job(example: Front) -> None:
    submitted = httpx.post(example.url + "/pipeline/jobs", json={"input": "great fun"})
    assert submitted.status_code == 202
    item = submitted.json()["id"]
    deadline = time.monotonic() + 10
    while (body := httpx.get(f"{example.url}/pipeline/jobs/{item}").json())["state"] != "done":
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    assert body["output"]["label"] == "positive"
    assert [s["name"] for s in body["stages"]] == ["clean", "features", "classify"]


def test_input_the_first_stage_refuses_is_a_422_naming_the_stage(example: Front) -> None:
    response = httpx.post(example.url + "/pipeline", json={"input": ""})
    assert response.status_code == 422
    assert response.json()["item"]["stage"] == "clean"
    assert response.json()["item"]["stages"][0]["attempts"] == 1


def test_unknown_items_and_bad_requests(example: Front) -> None:
    assert httpx.get(example.url + "/pipeline/jobs/nope").status_code == 404
    assert httpx.post(example.url + "/pipeline", json={"text": "x"}).status_code == 422
    assert httpx.post(example.url + "/pipeline", content=b"{").status_code == 400


def test_same_idempotency_key_is_one_item(example: Front) -> None:
    body = {"input": "lovely", "idempotency_key": "k-1"}
    first = httpx.post(example.url + "/pipeline/jobs", json=body).json()["id"]
    again = httpx.post(example.url + "/pipeline/jobs", json=body).json()["id"]
    assert first == again


def test_per_stage_metrics_and_stats(example: Front) -> None:
    for text in ("good", "bad", "great"):
        httpx.post(example.url + "/pipeline", json={"input": text}).raise_for_status()
    metrics = httpx.get(example.url + "/pipeline/metrics").text
    for stage in ("clean", "features", "classify"):
        assert f'dockyard_pipeline_items_total{{outcome="ok",stage="{stage}"}} 3.0' in metrics
        assert f'dockyard_pipeline_queue{{stage="{stage}",state="done"}} 3.0' in metrics
        assert f'dockyard_pipeline_process_seconds_count{{stage="{stage}"}}' in metrics
    assert 'dockyard_pipeline_latency_seconds_count{stage="classify"} 3.0' in metrics
    stats = httpx.get(example.url + "/pipeline/stats").json()
    assert stats["classify"]["done"] == 3


def test_sync_call_that_outlives_its_timeout_answers_504_with_the_id(
    tmp_path: Path, procs: list[Proc]
) -> None:
    root = make_pipeline(tmp_path, [("length", {})])
    front = Front(root, env={"PIPE_SLEEP_S": "2"})
    procs.append(front)
    front.wait_ready()
    response = httpx.post(front.url + "/pipeline?timeout=0.3", json={"input": "abc"}, timeout=5)
    assert response.status_code == 504
    item = response.json()["item"]["id"]
    deadline = time.monotonic() + 10
    while httpx.get(f"{front.url}/pipeline/jobs/{item}").json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert httpx.get(f"{front.url}/pipeline/jobs/{item}").json()["output"] == 3


def test_a_failing_item_dead_letters_at_its_stage_and_can_be_retried(
    tmp_path: Path, procs: list[Proc]
) -> None:
    options = {"max_attempts": 2, "backoff_s": 0.01}
    root = make_pipeline(tmp_path, [("length", {}), ("fragile", options)])
    front = Front(root)
    procs.append(front)
    front.wait_ready()
    failed = httpx.post(front.url + "/pipeline", json={"input": "x" * 13})
    fine = httpx.post(front.url + "/pipeline", json={"input": "x" * 12})
    assert failed.status_code == 500
    item = failed.json()["item"]
    assert (item["stage"], item["state"]) == ("fragile", "dead")
    assert "unlucky" in item["error"] and item["stages"][1]["attempts"] == 2
    assert fine.json()["output"] == 24
    retried = httpx.post(front.url + "/pipeline/dead/retry").json()["retried"]
    assert retried == {"length": 0, "fragile": 1}
