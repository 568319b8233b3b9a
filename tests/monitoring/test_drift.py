"""Input drift on a real service: a known distribution stays quiet, a shifted one crosses the
threshold, and promtool proves the alert fires on the series the service exported."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.monitor.baseline import describe
from dockyard.runtime.monitor.inputdrift import FeatureWindow, ks, psi
from dockyard.spec import load_spec
from tests.conftest import Server
from tests.monitoring.conftest import digits, samples
from tests.monitoring.promtool import test_rules, write_rules

Serve = type[Server]
WINDOW = 300
SPEC = f"[monitoring.drift]\nwindow = {WINDOW}\nmax_per_s = 100000\n"


def training_rows() -> list[list[float]]:
    """Digits the model was trained on: same distribution as the eval baseline, other rows."""
    # Imported here: scikit-learn takes ~2 s to import, and these tests are not in the fast suite.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, _, _, _ = train_test_split(x, y, test_size=0.2, random_state=0)
    return [list(map(float, row)) for row in x_train[:WINDOW]]


def send(url: str, rows: list[list[float]]) -> None:
    for start in range(0, len(rows), 50):
        answer = httpx.post(url + "/predict", json={"inputs": rows[start : start + 50]})
        assert answer.status_code == 200


def drift_after(url: str, before: float) -> dict[str, float]:
    """PSI per feature once the service has scored a window newer than `before`."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = {labels["feature"]: v for labels, v in samples(url, "dockyard_input_drift_psi")}
        if found and time.time() > before + 3:  # the sink rescores at most every 2 s
            return found
        time.sleep(0.2)
    raise AssertionError("no drift scores were exported")


def test_psi_and_ks_are_small_for_the_same_data_and_large_for_shifted() -> None:
    (feature,) = describe([{"a": float(i % 50)} for i in range(500)], bins=10, max_features=5)
    same, shifted = FeatureWindow(feature, 200), FeatureWindow(feature, 200)
    for i in range(200):
        same.add({"a": float((i * 7) % 50)}["a"])
        shifted.add(float(30 + i % 50))
    assert same.scores()["psi"] < 0.05 and same.scores()["ks"] < 0.05
    assert shifted.scores()["psi"] > 1 and shifted.scores()["ks"] > 0.5
    assert psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    assert ks([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0


def test_categorical_and_text_features_drift_on_new_values() -> None:
    rows = [{"country": c, "note": f"hello world {c}"} for c in ["fr", "de"] * 100]
    country, note = describe(rows, bins=5, max_features=5)
    assert (country.kind, note.kind) == ("categorical", "categorical")
    texts = [{"note": f"the quick brown fox number {i}"} for i in range(100)]
    (text,) = describe(texts, bins=5, max_features=5)
    assert text.kind == "text"
    window = FeatureWindow(text, 50)
    for i in range(50):
        window.add(f"completely unseen vocabulary item {i}")
    assert window.scores()["psi"] > 1


def test_shifted_inputs_cross_the_threshold_and_the_alert_fires(
    tmp_path: Path, serve: Serve
) -> None:
    root = digits(tmp_path / "digits", SPEC)
    server = serve(root)
    server.wait("/readyz")
    known = training_rows()
    send(server.url, known)
    calm = drift_after(server.url, time.time())
    assert max(calm.values()) < 0.25, sorted(calm.items(), key=lambda kv: -kv[1])[:3]
    shifted = [
        [16.0 - v for v in row] for row in known
    ]  # inverted ink: the same digits, new sensor
    send(server.url, shifted)
    drifted = drift_after(server.url, time.time())
    worst = max(drifted, key=lambda k: drifted[k])
    assert drifted[worst] > 0.25
    assert sum(v > 0.25 for v in drifted.values()) > 20  # most pixels moved, not one outlier
    ks_values = {
        labels["feature"]: v for labels, v in samples(server.url, "dockyard_input_drift_ks")
    }
    assert ks_values[worst] > 0.3

    # The exported numbers, replayed as a series: quiet for 10 min, then drifted for 20.
    spec = load_spec(root)
    rules = write_rules(spec, tmp_path)
    labels = f'job="digits",feature="{worst}",kind="numeric",window="{WINDOW}"'
    series = [
        {
            "series": f"dockyard_input_drift_psi{{{labels}}}",
            "values": f"{calm.get(worst, 0.0):.6f}x10 {drifted[worst]:.6f}x20",
        }
    ]
    summary = f"Input feature {worst} drifted (PSI above 0.25)"
    firing = {"severity": "warning", "feature": worst}
    test_rules(
        rules,
        series,
        [
            {"eval_time": "9m", "alertname": "DockyardInputDrift", "exp_alerts": []},
            {"eval_time": "13m", "alertname": "DockyardInputDrift", "exp_alerts": []},  # pending
            {
                "eval_time": "20m",
                "alertname": "DockyardInputDrift",
                "exp_alerts": [{"exp_labels": firing, "exp_annotations": {"summary": summary}}],
            },
        ],
    )


@pytest.mark.parametrize("window", [10])
def test_no_score_before_the_window_is_full(window: int) -> None:
    (feature,) = describe([{"a": float(i)} for i in range(100)], bins=10, max_features=5)
    w = FeatureWindow(feature, window)
    for i in range(window - 1):
        w.add(float(i))
    assert not w.full
    w.add(1.0)
    assert w.full


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
