"""The API service's HTTP contract in-process; real server processes for what only they show
(client disconnects, signals, several processes, the access log)."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import App
from tests.fixtures.projects import make_project
from tests.support.procs import Server
from tests.support.waiting import eventually

Serve = type[Server]


def metric(client: httpx.Client | str, name: str, **labels: str) -> float:
    """One sample's value from /metrics (of an in-process client or a server URL)."""
    text = (
        httpx.get(client + "/metrics") if isinstance(client, str) else client.get("/metrics")
    ).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_predict_echo_and_request_id(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "echo", golden=[{"input": "a", "output": "a"}]))
    response = client.post(
        "/predict", json={"inputs": ["x", "y"]}, headers={"X-Request-ID": "abc-1"}
    )
    assert response.status_code == 200
    assert response.json() == {"outputs": ["x", "y"]}
    assert response.headers["x-request-id"] == "abc-1"
    assert client.post("/predict", json={"inputs": []}).json() == {"outputs": []}


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b'{"inputs": ["a"', 400, "invalid_json"),
        (b"not json at all", 400, "invalid_json"),
        (b'{"inputs": [1, 2]}', 422, "invalid_input"),
        (b'{"input": ["a"]}', 422, "invalid_input"),
        (b'{"inputs": "a"}', 422, "invalid_input"),
        (b'{"inputs": ["a"], "extra": 1}', 422, "invalid_input"),
        (b"[]", 422, "invalid_input"),
        (b"", 400, "invalid_json"),
    ],
)
def test_bad_input_is_a_4xx_json_error(
    tmp_path: Path, app: App, body: bytes, status: int, kind: str
) -> None:
    client = app(make_project(tmp_path, "echo"))
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == kind and error["message"] and error["request_id"]


def test_body_size_limit_gives_413(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "echo", serving={"max_body_bytes": 1024}))
    response = client.post("/predict", json={"inputs": ["x" * 2000]})
    assert response.status_code == 413
    assert "max_body_bytes" in response.json()["error"]["message"]


def test_model_exception_fails_only_its_request(
    tmp_path: Path, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    client = app(make_project(tmp_path, "raises_on", serving={"max_batch_wait_ms": 50}))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = [{"inputs": ["boom"]} if i == 3 else {"inputs": [f"ok{i}"]} for i in range(8)]
        responses = list(pool.map(lambda b: client.post("/predict", json=b), bodies))
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 200, 500, 200, 200, 200, 200]
    error = responses[3].json()["error"]
    assert error["type"] == "prediction_failed" and "cannot handle boom" not in error["message"]
    assert responses[3].headers["x-request-id"] == error["request_id"]
    assert responses[0].json() == {"outputs": ["OK0"]}
    assert "prediction failed" in caplog.text
    assert "cannot handle boom" in caplog.text, "the details stay in the log"
    assert metric(client, "dockyard_model_errors_total") == 1
    assert metric(client, "dockyard_batch_size_count") >= 1  # batches were shared
    assert client.post("/predict", json={"inputs": ["still"]}).json() == {"outputs": ["STILL"]}


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_overload_answers_503_with_retry_after_never_hangs(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "slow", serving={"queue_size": 2, "max_batch_size": 1}))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(client.post, "/predict", json={"inputs": [0.5]}) for _ in range(8)]
        statuses = sorted(f.result().status_code for f in futures)
        rejected = next(f.result() for f in futures if f.result().status_code == 503)
    assert statuses.count(200) >= 2 and statuses.count(503) >= 4
    assert rejected.headers["retry-after"] == "1"
    assert rejected.json()["error"]["type"] == "overloaded"
    assert metric(client, "dockyard_rejected_total", reason="queue_full") >= 4


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_request_timeout_gives_504(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "slow", serving={"timeout_s": 0.3}))
    started = time.monotonic()
    response = client.post("/predict", json={"inputs": [2.0]})
    assert response.status_code == 504 and time.monotonic() - started < 1.5
    assert response.json()["error"]["type"] == "timeout"


@pytest.mark.slow  # a real socket the client closes
def test_client_gone_is_dropped_before_the_model(tmp_path: Path, serve: Serve) -> None:
    server = serve(make_project(tmp_path, "slow"))
    server.wait("/readyz")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        busy = pool.submit(httpx.post, server.url + "/predict", json={"inputs": [1.0]}, timeout=10)
        time.sleep(0.2)  # the model is now busy for a second
        with pytest.raises(httpx.TimeoutException):
            httpx.post(server.url + "/predict", json={"inputs": [0.25]}, timeout=0.3)
        assert busy.result().status_code == 200
    time.sleep(0.5)
    assert metric(server.url, "dockyard_batch_size_sum") == 1, (
        "the abandoned input never reached the model"
    )


def test_setup_failure_is_unready_and_unhealthy(tmp_path: Path, serve: Serve) -> None:
    # A real process: a failed setup() ends it after health.setup_failure_exit_s.
    server = serve(make_project(tmp_path, "setup_fails", health={"setup_failure_exit_s": 30}))
    server.wait("/readyz", status=503)
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["state"] == "failed" and "weights file is corrupt" in ready["reason"]
    assert httpx.get(server.url + "/healthz").status_code == 503
    response = httpx.post(server.url + "/predict", json={"inputs": ["a"]})
    assert response.status_code == 503 and response.json()["error"]["type"] == "not_ready"
    assert metric(server.url, "dockyard_state", state="failed") == 1


def test_wrong_canary_output_keeps_it_unready_and_says_why(tmp_path: Path, app: App) -> None:
    golden = [{"input": 1.0, "output": 3.0}]
    client = app(make_project(tmp_path, "wrong_canary", golden=golden), ready=False)
    eventually(lambda: client.get("/readyz").json()["state"] == "failed")
    reason = client.get("/readyz").json()["reason"]
    assert "canary failed: sample 1: output: got 2.0, expected 3.0" in reason
    assert metric(client, "dockyard_canary_ok") == 0


def test_passing_canary_is_ready(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "wrong_canary", golden=[{"input": 1.5, "output": 3.0}]))
    assert metric(client, "dockyard_canary_ok") == 1
    assert metric(client, "dockyard_state", state="ready") == 1
    assert metric(client, "dockyard_model_load_seconds") >= 0


def test_metrics_parse_and_count_classes(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "classifier"))
    for row in ([1.0, 1.0], [0.1, 0.1], [0.2, 0.2]):
        assert client.post("/predict", json={"inputs": [row]}).status_code == 200
    client.post("/predict", content=b"{")
    assert metric(client, "dockyard_predictions_total", label="big") == 1
    assert metric(client, "dockyard_predictions_total", label="small") == 2
    assert metric(client, "dockyard_prediction_confidence_count") == 3
    assert metric(client, "dockyard_requests_total", route="/predict", status="200") == 3
    assert metric(client, "dockyard_requests_total", route="/predict", status="400") == 1
    assert metric(client, "dockyard_request_duration_seconds_count", route="/predict") == 4
    assert metric(client, "dockyard_queue_wait_seconds_count") == 3
    for name in (
        "dockyard_queue_depth",
        "dockyard_inflight_requests",
        "dockyard_model_duration_seconds_count",
    ):
        assert name in client.get("/metrics").text


@pytest.mark.slow  # several server processes
def test_metrics_add_up_across_processes(tmp_path: Path, serve: Serve) -> None:
    server = serve(make_project(tmp_path, "whoami"), "--workers", "2")
    server.wait("/readyz")
    served: list[int] = []

    def both_processes_served() -> bool:  # a new connection each time, spread by the kernel
        response = httpx.post(server.url + "/predict", json={"inputs": ["x"]})
        assert response.status_code == 200
        served.append(response.json()["outputs"][0])
        return len(set(served)) == 2

    eventually(both_processes_served, timeout=20, interval=0, what="a second process serving")
    totals = [
        metric(server.url, "dockyard_requests_total", route="/predict", status="200")
        for _ in range(6)
    ]
    assert totals == [len(served)] * 6, "every scrape, whichever process answers it, sees the sum"


def test_openapi_and_docs(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "classifier"))
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    assert schemas["PredictRequest"]["properties"]["inputs"]["items"] == {
        "items": {"type": "number"},
        "type": "array",
    }
    assert schemas["Label"]["properties"]["label"]["type"] == "string"
    assert "/predict" in doc["paths"] and "/readyz" in doc["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text


def test_unknown_route_and_method_are_json_4xx(tmp_path: Path, app: App) -> None:
    client = app(make_project(tmp_path, "echo"))
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    wrong = client.get("/predict")
    assert wrong.status_code == 405 and wrong.json()["error"]["type"] == "method_not_allowed"


def answered(server: Server) -> float:
    return metric(server.url, "dockyard_requests_total", route="/predict", status="200")


@pytest.mark.slow  # SIGTERM to a real process
def test_graceful_shutdown_finishes_in_flight_work(tmp_path: Path, serve: Serve) -> None:
    server = serve(make_project(tmp_path, "slow", serving={"max_batch_size": 1}))
    server.wait("/readyz")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(httpx.post, server.url + "/predict", json={"inputs": [0.4]}, timeout=20)
            for _ in range(4)
        ]
        # Every request reached the server (in flight or answered) before the signal.
        eventually(lambda: metric(server.url, "dockyard_inflight_requests") + answered(server) == 4)
        server.proc.send_signal(signal.SIGTERM)
        statuses = [f.result().status_code for f in futures]
    assert statuses == [200, 200, 200, 200]
    assert server.proc.wait(20) == 0
    logs = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    assert any("Shutting down" in entry["message"] for entry in logs)
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/healthz")


@pytest.mark.slow  # the log a real process writes
def test_access_log_is_structured_without_payloads(tmp_path: Path, serve: Serve) -> None:
    server = serve(make_project(tmp_path, "echo"))
    server.wait("/readyz")
    httpx.post(
        server.url + "/predict",
        json={"inputs": ["secret-payload"]},
        headers={"X-Request-ID": "rid-7"},
    )
    time.sleep(0.2)
    text = server.log.read_text()
    assert "secret-payload" not in text
    entry = next(json.loads(line) for line in text.splitlines() if '"rid-7"' in line)
    assert entry["status"] == 200 and entry["path"] == "/predict" and entry["level"] == "info"
    assert entry["service"] == "echo" and "duration_ms" in entry
