"""The OpenAI-compatible API, driven by the official `openai` client against a server process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import REPO, Server
from tests.generate.conftest import write_project

EMBEDDER = '''
import hashlib

from dockyard import Model


class Embedder(Model[str, list[float]]):
    """A deterministic 8-dimensional vector per text."""

    def predict(self, batch: list[str]) -> list[list[float]]:
        return [[b / 255 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in batch]
'''


def start(root: Path) -> Server:
    server = Server(root)
    server.wait("/readyz")
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = write_project(tmp_path_factory.mktemp("openai") / "p", delay=0.002)
    running = start(root)
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_models_lists_the_served_model(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fake"]
    assert client.models.retrieve("fake").owned_by == "dockyard"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4")
    assert missing.value.code == "model_not_found"


def test_chat_completion_whole(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(
        model="fake", messages=[{"role": "user", "content": "hi there"}], seed=3
    )
    assert done.object == "chat.completion"
    assert done.choices[0].message.role == "assistant"
    assert done.choices[0].message.content == "user: hi there assistant: "
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (4, 4)
    assert done.usage.total_tokens == 8


def test_chat_completion_streamed_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": "a b"}],
        max_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "user: a b "
    finals = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finals[-1] == "length" and set(finals[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert len({c.id for c in chunks}) == 1


def test_completions_whole_and_streamed_with_stop(client: openai.OpenAI) -> None:
    done = client.completions.create(model="fake", prompt="one two three four", stop=["thr"])
    assert done.object == "text_completion"
    assert done.choices[0].text == "one two "
    assert done.choices[0].finish_reason == "stop"
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model="fake", prompt="one two three", max_tokens=2, stream=True
        )
    ]
    assert "".join(pieces) == "one two "


def test_errors_come_in_openais_shape(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as unknown:
        client.completions.create(model="other", prompt="x")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        client.completions.create(model="fake", prompt="x", temperature=5)
    assert bad.value.param == "temperature"
    with pytest.raises(openai.BadRequestError) as many:
        client.completions.create(model="fake", prompt="x", n=2)
    assert many.value.param == "n"
    with pytest.raises(openai.NotFoundError) as embed:
        client.embeddings.create(model="fake", input="x")
    assert embed.value.code == "unsupported_model"


def test_the_async_client_streams_concurrently(server: Server) -> None:
    async def main() -> list[str]:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)

        async def one(i: int) -> str:
            stream = await client.chat.completions.create(
                model="fake", messages=[{"role": "user", "content": f"n{i}"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

        try:
            return await asyncio.gather(*(one(i) for i in range(8)))
        finally:
            await client.close()

    assert asyncio.run(main()) == [f"user: n{i} assistant: " for i in range(8)]


def test_the_stream_ends_with_done(server: Server) -> None:
    body = {"model": "fake", "prompt": "x", "stream": True}
    r = httpx.post(f"{server.url}/v1/completions", json=body)
    assert r.text.endswith("data: [DONE]\n\n")


@pytest.mark.slow  # its own server process
def test_embeddings_for_an_embedding_model(tmp_path: Path) -> None:
    root = tmp_path / "embed"
    root.mkdir()
    (root / "embedder.py").write_text(EMBEDDER)
    (root / "dockyard.toml").write_text(
        '[project]\nname = "vec"\n\n[model]\nentrypoint = "embedder:Embedder"\n'
    )
    server = start(root)
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        out = client.embeddings.create(model="vec", input=["alpha", "beta gamma"])  # base64
        floats = client.embeddings.create(model="vec", input="alpha", encoding_format="float")
        with pytest.raises(openai.NotFoundError) as chat:
            client.completions.create(model="vec", prompt="x")
        assert chat.value.code == "unsupported_model"
    finally:
        server.stop()
    assert [d.index for d in out.data] == [0, 1]
    assert len(out.data[0].embedding) == 8
    assert out.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    assert out.usage.prompt_tokens == 3


@pytest.mark.slow
def test_embeddings_of_the_embed_example_match_predict() -> None:
    server = Server(REPO / "examples" / "embed", "--no-access-log")
    try:
        server.wait("/readyz", timeout=120)
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        out = client.embeddings.create(model="embed", input=["Containers make deployments."])
        direct = httpx.post(
            f"{server.url}/predict", json={"inputs": ["Containers make deployments."]}
        ).json()["outputs"][0]
    finally:
        server.stop()
    assert len(out.data[0].embedding) == 384
    assert out.data[0].embedding == pytest.approx(direct, abs=1e-6)
