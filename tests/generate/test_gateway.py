"""examples/gateway against a fake upstream on loopback: key as a file, streaming, cancellation."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from tests.conftest import REPO, Server, free_port

GATEWAY = REPO / "examples" / "gateway"


def _fake_upstream_class() -> Any:
    spec = importlib.util.spec_from_file_location("fake_upstream", GATEWAY / "fake_upstream.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The fake upstream in a thread; its key is `good-key`."""
    app = _fake_upstream_class()("good-key").app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    while not server.started:
        time.sleep(0.01)
    yield url
    server.should_exit = True
    thread.join(10)


def gateway(upstream: str, tmp: Path, key: str) -> Server:
    key_file = tmp / f"key-{key}"
    key_file.write_text(key + "\n")
    env = {"OPENAI_BASE_URL": f"{upstream}/v1", "OPENAI_API_KEY_FILE": str(key_file)}
    server = Server(GATEWAY, "--no-access-log", env=env)
    server.wait("/readyz")
    return server


@pytest.fixture(scope="module")
def proxied(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = gateway(upstream, tmp_path_factory.mktemp("gw"), "good-key")
    yield server.url
    server.stop()


def fates(upstream: str) -> dict[str, Any]:
    return httpx.get(f"{upstream}/fates").json()  # type: ignore[no-any-return]


def test_streams_pass_through_with_the_key_and_parameters(proxied: str, upstream: str) -> None:
    client = openai.OpenAI(base_url=f"{proxied}/v1", api_key="client-key", max_retries=0)
    stream = client.chat.completions.create(
        model="gateway",
        messages=[{"role": "user", "content": "pass through"}],
        max_tokens=4,
        temperature=0.5,
        seed=9,
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "w0 w1 w2 w3 "
    sent = next(
        b for b in fates(upstream)["bodies"] if b["messages"][-1]["content"] == "pass through"
    )
    assert (sent["max_tokens"], sent["temperature"], sent["seed"]) == (4, 0.5, 9)
    assert fates(upstream)["fates"]["pass through"] == "done"


def test_a_client_that_leaves_cancels_the_upstream_stream(proxied: str, upstream: str) -> None:
    client = openai.OpenAI(base_url=f"{proxied}/v1", api_key="k", max_retries=0)
    stream = client.chat.completions.create(
        model="gateway",
        messages=[{"role": "user", "content": "long one"}],
        max_tokens=5000,
        stream=True,
    )
    got = 0
    for chunk in stream:
        got += bool(chunk.choices and chunk.choices[0].delta.content)
        if got == 3:
            break
    stream.close()
    deadline = time.monotonic() + 10
    while fates(upstream)["fates"].get("long one") != "gone":
        assert time.monotonic() < deadline, fates(upstream)["fates"]
        time.sleep(0.05)


def test_a_wrong_key_fails_with_the_upstreams_refusal(upstream: str, tmp_path: Path) -> None:
    server = gateway(upstream, tmp_path, "wrong-key")
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as failed:
            client.completions.create(model="gateway", prompt="hi")
    finally:
        server.stop()
    assert "server log" in str(failed.value)  # the upstream's answer is not sent on
    log = server.log.read_text()
    assert "upstream answered 401" in log and "invalid_api_key" in log


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
