"""Ground truth: true values joined to recorded predictions, scored per version, on real servers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.monitoring.conftest import project, value

Serve = type[Server]
PEOPLE = [{"email": f"p{i}@x.org", "age": 20 + i % 60, "country": "fr"} for i in range(200)]


def predict_all(url: str, prefix: str, inputs: Sequence[object]) -> list[dict[str, object]]:
    outputs = []
    with httpx.Client(base_url=url) as client:
        for i, item in enumerate(inputs):
            r = client.post(
                "/predict", json={"inputs": [item]}, headers={"x-request-id": f"{prefix}{i}"}
            )
            assert r.status_code == 200
            outputs.append(r.json()["outputs"][0])
    return outputs


def wait_recorded(url: str, count: int) -> None:
    """The recorder writes in the background: wait until it has stored `count` predictions."""
    deadline = time.monotonic() + 10
    while (value(url, "dockyard_monitor_recorded_total") or 0) < count:
        assert time.monotonic() < deadline, "predictions were not recorded"
        time.sleep(0.05)


def test_80_percent_correct_feedback_reads_accuracy_0_8(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "profile", "Profile"))
    server.wait("/readyz")
    outputs = predict_all(server.url, "r", PEOPLE)
    wait_recorded(server.url, len(PEOPLE))
    flip = {"old": "young", "young": "old"}
    items = [
        {"request_id": f"r{i}", "value": out["label"] if i % 5 else flip[str(out["label"])]}
        for i, out in enumerate(outputs)
    ]
    answer = httpx.post(server.url + "/feedback/batch", json={"items": items})
    assert answer.status_code == 200
    assert answer.json() == {"matched": 200, "unmatched": []}
    score = value(server.url, "dockyard_feedback_score", version="1", metric="accuracy")
    assert score == pytest.approx(0.8, abs=0.01)
    assert value(server.url, "dockyard_feedback_coverage", version="1") == 1.0
    assert value(server.url, "dockyard_feedback_labels_total", version="1") == 200
    assert value(server.url, "dockyard_feedback_delay_seconds_count") == 200


def test_coverage_counts_the_share_of_predictions_labelled(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "profile", "Profile"))
    server.wait("/readyz")
    predict_all(server.url, "c", PEOPLE[:40])
    wait_recorded(server.url, 40)
    for i in range(10):  # one by one, with the whole true output instead of the field
        answer = httpx.post(
            server.url + "/feedback",
            json={"request_id": f"c{i}", "value": {"label": "young", "probability": 1.0}},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["matched"] == 1
    assert value(server.url, "dockyard_feedback_coverage", version="1") == 0.25


def test_unknown_and_malformed_feedback_are_clear_4xx(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "profile", "Profile"))
    server.wait("/readyz")
    unknown = httpx.post(server.url + "/feedback", json={"request_id": "nope", "value": "old"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "unknown_prediction"
    assert "nope/0" in unknown.json()["error"]["message"]
    bad = httpx.post(server.url + "/feedback", json={"id": "x", "value": 1})
    assert bad.status_code == 422
    assert bad.json()["error"]["type"] == "invalid_feedback"
    assert bad.json()["error"]["message"] == "id: Extra inputs are not permitted"
    assert httpx.post(server.url + "/feedback", content=b"{").status_code == 400
    assert value(server.url, "dockyard_feedback_unmatched_total") == 1


def test_regression_with_a_custom_metric_from_the_model(tmp_path: Path, serve: Serve) -> None:
    server = serve(project(tmp_path, "score", "Score"))
    server.wait("/readyz")
    predict_all(server.url, "s", [[1.0, 2.0], [3.0, 4.0], [0.5, 0.5], [10.0, 0.0]])
    wait_recorded(server.url, 4)
    truths = [3.5, 7.0, 5.0, 10.0]  # off by 0.5, 0, 4, 0 -> 3 of 4 within 1.0
    items = [{"request_id": f"s{i}", "value": t} for i, t in enumerate(truths)]
    assert httpx.post(server.url + "/feedback/batch", json={"items": items}).json()["matched"] == 4
    assert value(server.url, "dockyard_feedback_score", metric="custom") == 0.75


def test_mae_and_rmse_when_the_spec_asks(tmp_path: Path, serve: Serve) -> None:
    toml = '[monitoring.feedback]\nmetric = "rmse"\nstore = "memory"\n'
    server = serve(project(tmp_path, "score", "Score", toml))
    server.wait("/readyz")
    predict_all(server.url, "s", [[1.0], [2.0]])
    wait_recorded(server.url, 2)
    items = [{"request_id": "s0", "value": 4.0}, {"request_id": "s1", "value": 2.0}]
    httpx.post(server.url + "/feedback/batch", json={"items": items})
    # errors 3 and 0: rmse = sqrt(9 / 2)
    assert value(server.url, "dockyard_feedback_score", metric="rmse") == pytest.approx(4.5**0.5)
