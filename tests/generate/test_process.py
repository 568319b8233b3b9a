"""The model in its own process (`serving.executor = "auto"`, the default for generative models).

The fake here logs every step to a file in its project, so the test reads what the model saw
in the other process: who was stepped, and that a dropped stream got no further step.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from openai import OpenAI

from dockyard.runtime.app import create_app
from dockyard.runtime.contract import GenerationParams
from dockyard.runtime.generate.engine import Engine
from dockyard.runtime.generate.process import Launch, ModelProcess, ProcessRunner
from dockyard.runtime.generate.sequence import GenerationFailed
from dockyard.spec import load_spec
from tests.conftest import free_port
from tests.generate.conftest import Served, serve

MODEL = """
import json
from pathlib import Path

from dockyard.runtime.generate.fake import FakeGenerator, FakeSequence

LOG = Path(__file__).with_name("steps.jsonl")


class Fake(FakeGenerator):
    step_delay = 0.005

    def setup(self):
        if Path(__file__).with_name("broken").exists():
            raise RuntimeError("the weights are missing")
        super().setup()
        self.log = LOG.open("a", buffering=1)

    def step(self, states: list[FakeSequence]) -> list[str | None]:
        self.log.write(json.dumps([s.prompt for s in states]) + "\\n")
        chunks = super().step(states)
        odd = (c for c in "x")  # a chunk pickle refuses (a generator), for who asks for one
        return [odd if s.prompt == "unpicklable" else c for s, c in zip(states, chunks)]

    def prompt_tokens(self, item):
        return len(item.split())
"""


def project(root: Path, broken: bool = False) -> Path:
    root.mkdir(parents=True)
    (root / "fake_model.py").write_text(MODEL)
    (root / "dockyard.toml").write_text(
        '[project]\nname = "fake"\n\n[model]\nentrypoint = "fake_model:Fake"\n'
    )
    if broken:
        (root / "broken").touch()
    return root


def steps(root: Path) -> Counter[str]:
    path = root / "steps.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(p for line in lines if line.endswith("]") for p in json.loads(line))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return project(tmp_path / "proj")


@pytest.fixture
def served(root: Path) -> Iterator[Served]:
    with serve(root) as s:
        yield s


def test_the_model_runs_in_its_own_process_and_serves_every_route(
    served: Served, root: Path
) -> None:
    runner = served.app.service.runner
    assert isinstance(runner, ProcessRunner)
    child = runner.process.process.pid
    assert child is not None and child != os.getpid()
    r = httpx.post(f"{served.url}/generate_stream", json={"input": "one two three"}, timeout=10)
    assert [json.loads(d) for d in _data(r.text)] == [
        {"chunk": "one "},
        {"chunk": "two "},
        {"chunk": "three "},
        {"finish_reason": "stop", "chunks": 3},
    ]
    r = httpx.post(f"{served.url}/predict", json={"inputs": ["a b"]}, timeout=10)
    assert r.status_code == 200 and r.json()["outputs"] == ["a b "]
    client = OpenAI(base_url=f"{served.url}/v1", api_key="unused")
    done = client.completions.create(model="fake", prompt="x y z", max_tokens=2)
    assert done.choices[0].text == "x y " and done.usage is not None
    assert done.usage.prompt_tokens == 3  # the model's prompt_tokens, run in the child
    assert steps(root)["one two three"] == 4  # three words, then the step that ends it


def test_a_dropped_stream_gets_no_more_steps_in_the_model_process(
    served: Served, root: Path
) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    with httpx.Client(timeout=10).stream(
        "POST", f"{served.url}/generate_stream", json={"input": "forever keep"}
    ):
        with socket.create_connection(("127.0.0.1", port)) as s:
            body = json.dumps({"input": "forever gone"}).encode()
            s.sendall(
                b"POST /generate_stream HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            served.wait_for(lambda: steps(root)["forever gone"] >= 3)
        at_close = steps(root)["forever gone"]
        served.wait_for(lambda: steps(root)["forever keep"] >= at_close + 30)
        assert steps(root)["forever gone"] <= at_close + 2
    # the keeper dropped too: the batch is empty and the gauge says so (no step runs to say it)
    served.wait_for(lambda: _gauge(served, "dockyard_generation_active_sequences") == 0.0)


def test_a_chunk_that_cannot_leave_the_model_process_fails_only_its_own_stream(
    served: Served, root: Path
) -> None:
    url = f"{served.url}/generate_stream"
    with httpx.Client(timeout=10).stream("POST", url, json={"input": "forever beside"}) as beside:
        lines = beside.iter_lines()
        assert next(lines).startswith("data:")
        bad = httpx.post(url, json={"input": "unpicklable"}, timeout=10).text
        assert "event: error" in bad and "generation_failed" in bad
        assert [next(lines) for _ in range(4)][1::2] == ['data: {"chunk":"x "}'] * 2
    served.wait_for(lambda: _gauge(served, "dockyard_generation_active_sequences") == 0.0)
    assert steps(root)["unpicklable"] == 1  # out of the batch at once: no second step


async def test_an_input_that_cannot_reach_the_model_process_fails_alone(root: Path) -> None:
    spec = load_spec(root)
    process = ModelProcess(Launch(spec, str(root), False, 8, None))
    await process.start()
    engine = Engine(8, 100, 30.0, expose_errors=True)
    task = asyncio.create_task(engine.run_remote(process))
    try:
        lost = engine.submit(threading.Lock(), GenerationParams())  # no pickle for a lock
        kept = engine.submit("one two", GenerationParams())
        with pytest.raises(GenerationFailed, match="cannot be sent to the model process"):
            [c async for batch in lost.batches() for c in batch]
        assert [c async for batch in kept.batches() for c in batch] == ["one ", "two "]
    finally:
        engine.close()
        await asyncio.wait_for(task, 10)
        await process.stop()
    assert process.process.exitcode == 0


def test_a_model_whose_setup_fails_in_its_process_is_not_ready_and_says_why(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "broken", broken=True)
    app = create_app(load_spec(root), root, access_log=False, environ=os.environ)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).json()
            except httpx.HTTPError:
                body = {}
            if body.get("state") == "failed":
                break
            time.sleep(0.05)
        assert body["ready"] is False
        assert "RuntimeError: the weights are missing" in body["reason"]
    finally:
        server.should_exit = True
        thread.join(15)


def test_when_the_model_process_dies_streams_end_with_an_error_and_readiness_fails(
    served: Served,
) -> None:
    runner = served.app.service.runner
    assert isinstance(runner, ProcessRunner) and runner.process.process.pid is not None
    with httpx.Client(timeout=10).stream(
        "POST", f"{served.url}/generate_stream", json={"input": "forever"}
    ) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data:")
        os.kill(runner.process.process.pid, signal.SIGKILL)
        rest = "\n".join(lines)
    assert "event: error" in rest and "generation_failed" in rest
    r = httpx.get(f"{served.url}/readyz", timeout=5)
    assert r.status_code == 503 and "model process exited" in r.json()["reason"]


def test_stopping_the_server_stops_the_model_process(root: Path) -> None:
    with serve(root) as s:
        runner = s.app.service.runner
        assert isinstance(runner, ProcessRunner)
        process = runner.process.process
        assert process.is_alive()
    process.join(10)
    assert not process.is_alive() and process.exitcode == 0


def _gauge(served: Served, name: str) -> float:
    for line in httpx.get(f"{served.url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1.0


def _data(text: str) -> list[str]:
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
