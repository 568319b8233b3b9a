"""/status in headless Chromium: renders without console errors, and its plots show the numbers
/metrics reports (read back from the DOM)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.monitor.status import parse, quantile, summarize
from tests.conftest import Server
from tests.monitoring.browser import browser_page, keep_screenshot
from tests.monitoring.conftest import DIGITS, digits, samples

Serve = type[Server]
SPEC = "[monitoring.drift]\nwindow = 100\nmax_per_s = 100000\n"


def traffic(url: str) -> None:
    evaluation = [json.loads(x) for x in (DIGITS / "eval.jsonl").read_text().splitlines()]
    rows = [r["input"] for r in evaluation]
    with httpx.Client(base_url=url) as client:
        for i in range(0, 150, 3):
            batch = rows[i : i + 3]
            headers = {"x-request-id": f"s{i}"}
            assert (
                client.post("/predict", json={"inputs": batch}, headers=headers).status_code == 200
            )
        shifted = [[min(16.0, v + 6) for v in row] for row in rows[:60]]
        assert client.post("/predict", json={"inputs": shifted}).status_code == 200
        time.sleep(1.5)  # recorded in the background
        items = [  # the true digit of the first input of every other request
            {"request_id": f"s{i}", "index": 0, "value": evaluation[i]["label"]}
            for i in range(0, 150, 6)
        ]
        assert client.post("/feedback/batch", json={"items": items}).json()["matched"] == 25
    deadline = time.monotonic() + 10
    while not samples(url, "dockyard_input_drift_psi"):
        assert time.monotonic() < deadline, "drift never scored"
        time.sleep(0.2)


def test_status_page_renders_and_matches_metrics(
    tmp_path: Path, serve: Serve, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = serve(digits(tmp_path / "digits", SPEC))
    server.wait("/readyz")
    traffic(server.url)
    time.sleep(2.5)  # let the drift sink finish its last rescoring
    with browser_page() as (page, errors):
        page.goto(server.url + "/status")  # type: ignore[attr-defined]
        page.wait_for_selector("body[data-loaded='1']")  # type: ignore[attr-defined]
        metrics = parse(httpx.get(server.url + "/metrics").text)
        dom = page.evaluate(  # type: ignore[attr-defined]
            """() => ({
              figures: Object.fromEntries([...document.querySelectorAll('.figure')]
                .map(e => [e.dataset.key, e.dataset.value])),
              classes: Object.fromEntries([...document.querySelectorAll('#plot-classes .bar')]
                .map(e => [e.dataset.label, Number(e.dataset.value)])),
              drift: Object.fromEntries([...document.querySelectorAll('#plot-drift .bar')]
                .map(e => [e.dataset.label, Number(e.dataset.value)])),
              batches: [...document.querySelectorAll('#plot-batches .bar')]
                .map(e => Number(e.dataset.value)),
              version: document.getElementById('version').textContent,
              canary: document.getElementById('canary').textContent,
              history: document.getElementById('plot-requests').dataset.last,
            })"""
        )
        shot = keep_screenshot(page, tmp_path_factory.getbasetemp() / "artifacts", "status.png")
    assert errors == []
    assert shot.stat().st_size > 10_000
    figures = dom["figures"]
    status_json = sum(
        v for k, v in metrics["dockyard_requests_total"] if k["route"] == "/status.json"
    )
    total = sum(v for _, v in metrics["dockyard_requests_total"])
    assert float(figures["requests"]) == total - status_json  # /metrics counted the page's call
    assert float(figures["requests"]) == float(dom["history"])
    p95 = quantile(metrics, "dockyard_request_duration_seconds", 0.95)
    assert p95 is not None and float(figures["latency_p95_ms"]) == pytest.approx(p95 * 1000)
    expected = summarize(metrics)
    assert float(figures["batch_mean"]) == pytest.approx(expected["batch_mean"])
    assert sum(dom["batches"]) == sum(v for _, v in metrics["dockyard_batch_size_count"])
    counts = expected["classes"]
    assert dom["classes"] == pytest.approx({k: v / sum(counts.values()) for k, v in counts.items()})
    top = sorted(expected["input_psi"].items(), key=lambda kv: -kv[1])[:24]
    assert dom["drift"] == pytest.approx(dict(top))
    assert max(dom["drift"].values()) > 0.25  # the shifted requests show
    score = next(v for k, v in metrics["dockyard_feedback_score"] if k["metric"] == "accuracy")
    assert float(figures["score:1/accuracy"]) == pytest.approx(score)
    coverage = metrics["dockyard_feedback_coverage"][0][1]
    assert float(figures["coverage:1"]) == pytest.approx(coverage)
    assert (dom["version"], dom["canary"]) == ("1", "passing")
    assert figures["errors"] == "0"  # the 503s of /readyz while loading are not errors


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
