"""Generations over real HTTP: SSE and NDJSON framing, V2 generate, disconnects, metrics."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.generate.conftest import Served, serve, write_project


def events(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each Server-Sent Event."""
    out = []
    for block in raw.split("\n\n"):
        if not block:
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        out.append((name, "\n".join(data)))
    return out


def test_generate_stream_speaks_server_sent_events_with_a_final_event(served: Served) -> None:
    with httpx.stream(
        "POST", f"{served.url}/generate_stream", json={"input": "one two three"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["cache-control"] == "no-cache"
        raw = r.read().decode()
    assert events(raw) == [
        (None, '{"chunk":"one "}'),
        (None, '{"chunk":"two "}'),
        (None, '{"chunk":"three "}'),
        ("end", '{"finish_reason":"stop","chunks":3}'),
    ]


def test_generate_stream_speaks_ndjson_when_asked(served: Served) -> None:
    r = httpx.post(
        f"{served.url}/generate_stream",
        json={"input": "a b c", "parameters": {"max_tokens": 2}},
        headers={"accept": "application/x-ndjson"},
    )
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines == [{"chunk": "a "}, {"chunk": "b "}, {"finish_reason": "length", "chunks": 2}]


def test_generate_answers_the_whole_output_and_predict_still_works(served: Served) -> None:
    r = httpx.post(f"{served.url}/generate", json={"input": "hello world"})
    assert r.json() == {"output": "hello world ", "finish_reason": "stop", "chunks": 2}
    r = httpx.post(f"{served.url}/predict", json={"inputs": ["x y", "z"]})
    assert r.json() == {"outputs": ["x y ", "z "]}


def test_parameters_reach_the_model(served: Served) -> None:
    body = {"input": "p q", "parameters": {"temperature": 0.7, "seed": 7, "stop": ["q"]}}
    r = httpx.post(f"{served.url}/generate", json=body)
    assert r.json()["output"] == "p "
    params = served.record.params["p q"]
    assert (params.temperature, params.seed, params.stop) == (0.7, 7, ("q",))


def test_bad_requests_get_json_errors(served: Served) -> None:
    r = httpx.post(f"{served.url}/generate_stream", json={"input": 3})
    assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_input"
    r = httpx.post(f"{served.url}/generate", json={"input": "x", "parameters": {"top_k": 3}})
    assert r.status_code == 422 and "top_k" in r.json()["error"]["message"]
    r = httpx.post(f"{served.url}/generate", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_json"
    r = httpx.post(f"{served.url}/v2/models/fake/generate", json={"input": "x"})
    assert r.status_code == 422 and '"text_input"' in r.json()["error"]["message"]


def test_a_failure_mid_stream_ends_with_an_error_event(served: Served) -> None:
    r = httpx.post(f"{served.url}/generate_stream", json={"input": "explode"})
    assert r.status_code == 200
    name, data = events(r.text)[-1]
    assert name == "error"
    assert json.loads(data)["error"]["type"] == "generation_failed"


def test_v2_generate_and_generate_stream(served: Served) -> None:
    url = f"{served.url}/v2/models/fake"
    r = httpx.post(f"{url}/generate", json={"text_input": "v two", "parameters": {"seed": 1}})
    assert r.json() == {
        "model_name": "fake",
        "model_version": "1",
        "text_output": "v two ",
        "finish_reason": "stop",
        "chunks": 2,
    }
    r = httpx.post(f"{url}/generate_stream", json={"text_input": "v two"})
    got = [(n, json.loads(d)) for n, d in events(r.text)]
    head = {"model_name": "fake", "model_version": "1"}
    assert got == [
        (None, {**head, "text_output": "v "}),
        (None, {**head, "text_output": "two "}),
        ("end", {**head, "finish_reason": "stop", "chunks": 2}),
    ]


def test_a_client_that_disconnects_gets_no_more_model_steps(served: Served) -> None:
    keeper = httpx.Client(timeout=10)
    with keeper.stream("POST", f"{served.url}/generate_stream", json={"input": "forever keep"}):
        with socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1]))) as s:
            body = json.dumps({"input": "forever gone"}).encode()
            s.sendall(
                b"POST /generate_stream HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            served.wait_for(lambda: served.record.steps["forever gone"] >= 3)
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        at_close = served.record.steps["forever gone"]
        served.wait_for(lambda: served.record.steps["forever keep"] >= at_close + 20)
        assert served.record.steps["forever gone"] <= at_close + 2
        served.wait_for(lambda: "forever gone" in served.record.released)
    keeper.close()
    metrics = scrape(served)
    assert metrics["dockyard_generation_cancelled_total"][("disconnect",)] >= 1


def scrape(served: Served) -> dict[str, dict[tuple[str, ...], float]]:
    text = httpx.get(f"{served.url}/metrics").text
    out: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sample.labels.values())] = sample.value
    return out


def test_metrics_show_first_chunk_time_chunks_and_batch_membership(served: Served) -> None:
    for _ in range(3):
        httpx.post(f"{served.url}/generate", json={"input": "m n o"})
    m = scrape(served)
    assert m["dockyard_generation_time_to_first_chunk_seconds_count"][()] == 3
    assert m["dockyard_generation_time_per_chunk_seconds_count"][()] == 6
    assert m["dockyard_generation_chunks_total"][()] == 9
    assert m["dockyard_generation_joined_per_step_sum"][()] == 3
    assert m["dockyard_generation_left_per_step_sum"][()] == 3
    assert m["dockyard_generation_active_sequences"][()] == 0
    assert m["dockyard_generation_finished_total"][("stop",)] == 3
    assert m["dockyard_generation_chunks_per_second"][()] > 0


def test_predict_is_served_between_the_steps_of_a_running_generation(served: Served) -> None:
    """A running generation does not hold the model thread: /predict, queued on the same
    thread, is answered between two steps, and the generation goes on."""
    with httpx.stream(
        "POST", f"{served.url}/generate_stream", json={"input": "forever"}, timeout=30
    ) as stream:
        lines = (line for line in stream.iter_lines() if line.startswith("data:"))
        next(lines)  # the generation is running
        started = time.monotonic()
        r = httpx.post(f"{served.url}/predict", json={"inputs": ["x y"]}, timeout=10)
        assert r.status_code == 200 and r.json() == {"outputs": ["x y "]}
        assert time.monotonic() - started < 2
        for _ in range(3):
            assert next(lines) == 'data: {"chunk":"x "}'  # still streaming after the predict


def test_the_streaming_form_is_served_too(tmp_path: Path) -> None:
    with serve(write_project(tmp_path / "s", base="FakeStreamer", delay=0.002)) as s:
        r = httpx.post(f"{s.url}/generate", json={"input": "s t"})
        assert r.json()["output"] == "s t "
        r = httpx.post(f"{s.url}/predict", json={"inputs": ["u"]})
        assert r.json() == {"outputs": ["u "]}


def test_a_short_timeout_ends_a_stream_with_a_timeout_error(tmp_path: Path) -> None:
    with serve(write_project(tmp_path / "t", delay=0.01, timeout_s=0.2)) as s:
        started = time.monotonic()
        r = httpx.post(f"{s.url}/generate_stream", json={"input": "forever"})
        assert time.monotonic() - started < 5
        name, data = events(r.text)[-1]
        assert name == "error" and json.loads(data)["error"]["type"] == "timeout"
        r = httpx.post(f"{s.url}/generate", json={"input": "forever"})
        assert r.status_code == 504
