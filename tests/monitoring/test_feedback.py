"""Ground truth: true values joined to recorded predictions, scored per version (in-process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import App
from tests.monitoring.conftest import project, value
from tests.support.waiting import eventually

PEOPLE = [{"email": f"p{i}@x.org", "age": 20 + i % 60, "country": "fr"} for i in range(200)]


def predict_all(
    client: TestClient, prefix: str, inputs: Sequence[object]
) -> list[dict[str, object]]:
    outputs = []
    for i, item in enumerate(inputs):
        r = client.post(
            "/predict", json={"inputs": [item]}, headers={"x-request-id": f"{prefix}{i}"}
        )
        assert r.status_code == 200
        outputs.append(r.json()["outputs"][0])
    return outputs


def wait_recorded(client: TestClient, count: int) -> None:
    """The recorder writes in the background: wait until it has stored `count` predictions."""
    recorded = lambda: (value(client, "dockyard_monitor_recorded_total") or 0) >= count  # noqa: E731
    eventually(recorded, timeout=10, what="predictions recorded")


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_80_percent_correct_feedback_reads_accuracy_0_8(tmp_path: Path, app: App) -> None:
    client = app(project(tmp_path, "profile", "Profile"))
    outputs = predict_all(client, "r", PEOPLE)
    wait_recorded(client, len(PEOPLE))
    flip = {"old": "young", "young": "old"}
    items = [
        {"request_id": f"r{i}", "value": out["label"] if i % 5 else flip[str(out["label"])]}
        for i, out in enumerate(outputs)
    ]
    answer = client.post("/feedback/batch", json={"items": items})
    assert answer.status_code == 200
    assert answer.json() == {"matched": 200, "unmatched": []}
    score = value(client, "dockyard_feedback_score", version="1", metric="accuracy")
    assert score == pytest.approx(0.8, abs=0.01)
    assert value(client, "dockyard_feedback_coverage", version="1") == 1.0
    assert value(client, "dockyard_feedback_labels_total", version="1") == 200
    assert value(client, "dockyard_feedback_delay_seconds_count") == 200


def test_coverage_counts_the_share_of_predictions_labelled(tmp_path: Path, app: App) -> None:
    client = app(project(tmp_path, "profile", "Profile"))
    predict_all(client, "c", PEOPLE[:40])
    wait_recorded(client, 40)
    for i in range(10):  # one by one, with the whole true output instead of the field
        answer = client.post(
            "/feedback",
            json={"request_id": f"c{i}", "value": {"label": "young", "probability": 1.0}},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["matched"] == 1
    assert value(client, "dockyard_feedback_coverage", version="1") == 0.25


def test_unknown_and_malformed_feedback_are_clear_4xx(tmp_path: Path, app: App) -> None:
    client = app(project(tmp_path, "profile", "Profile"))
    unknown = client.post("/feedback", json={"request_id": "nope", "value": "old"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "unknown_prediction"
    assert "nope/0" in unknown.json()["error"]["message"]
    bad = client.post("/feedback", json={"id": "x", "value": 1})
    assert bad.status_code == 422
    assert bad.json()["error"]["type"] == "invalid_feedback"
    assert bad.json()["error"]["message"] == "id: Extra inputs are not permitted"
    assert client.post("/feedback", content=b"{").status_code == 400
    assert value(client, "dockyard_feedback_unmatched_total") == 1


def test_regression_with_a_custom_metric_from_the_model(tmp_path: Path, app: App) -> None:
    client = app(project(tmp_path, "score", "Score"))
    predict_all(client, "s", [[1.0, 2.0], [3.0, 4.0], [0.5, 0.5], [10.0, 0.0]])
    wait_recorded(client, 4)
    truths = [3.5, 7.0, 5.0, 10.0]  # off by 0.5, 0, 4, 0 -> 3 of 4 within 1.0
    items = [{"request_id": f"s{i}", "value": t} for i, t in enumerate(truths)]
    assert client.post("/feedback/batch", json={"items": items}).json()["matched"] == 4
    assert value(client, "dockyard_feedback_score", metric="custom") == 0.75


def test_mae_and_rmse_when_the_spec_asks(tmp_path: Path, app: App) -> None:
    toml = '[monitoring.feedback]\nmetric = "rmse"\nstore = "memory"\n'
    client = app(project(tmp_path, "score", "Score", toml))
    predict_all(client, "s", [[1.0], [2.0]])
    wait_recorded(client, 2)
    items = [{"request_id": "s0", "value": 4.0}, {"request_id": "s1", "value": 2.0}]
    client.post("/feedback/batch", json={"items": items})
    # errors 3 and 0: rmse = sqrt(9 / 2)
    assert value(client, "dockyard_feedback_score", metric="rmse") == pytest.approx(4.5**0.5)
