"""examples/generate served locally: golden greedy text, seeded sampling, streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from tests.conftest import REPO, Server

EXAMPLE = REPO / "examples" / "generate"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server(EXAMPLE, "--no-access-log")
    running.wait("/readyz", timeout=120)  # READY only once the golden canary matched
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_greedy_streams_are_the_golden_generations(client: openai.OpenAI) -> None:
    for line in (EXAMPLE / "golden.jsonl").read_text().splitlines():
        sample = json.loads(line)
        stream = client.completions.create(
            model="generate", prompt=sample["input"], max_tokens=64, stream=True
        )
        pieces = [c.choices[0].text for c in stream]
        assert len(pieces) >= 64 and "".join(pieces) == sample["output"]


def test_sequences_that_join_and_leave_the_batch_do_not_disturb_the_others(
    client: openai.OpenAI,
) -> None:
    """The example's key/value cache moves rows when a sequence leaves: every stream, run side by
    side with others that end earlier or start later, must still be its own golden text."""
    golden = [json.loads(line) for line in (EXAMPLE / "golden.jsonl").read_text().splitlines()]
    asks = [(g, n) for g in golden for n in (7, 33, 64)]

    def run(ask: tuple[dict[str, str], int]) -> tuple[str, str]:
        sample, n = ask
        stream = client.completions.create(
            model="generate", prompt=sample["input"], max_tokens=n, stream=True
        )
        return "".join(c.choices[0].text for c in stream), sample["output"][:n]

    with ThreadPoolExecutor(len(asks)) as pool:
        for got, want in pool.map(run, asks):
            assert got == want


def test_a_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        done = client.completions.create(
            model="generate", prompt="The ", max_tokens=48, temperature=1.5, seed=seed
        )
        return done.choices[0].text

    first = sample(1)
    assert sample(1) == first
    assert any(sample(seed) != first for seed in (2, 3, 4))


def test_usage_counts_characters(client: openai.OpenAI) -> None:
    done = client.completions.create(model="generate", prompt="A ship", max_tokens=10)
    assert done.usage is not None
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (6, 10)
    assert done.choices[0].finish_reason == "length"


def test_a_prompt_the_model_refuses_is_a_400_naming_the_field(client: openai.OpenAI) -> None:
    too_long = "x" * 65  # the example's Prompt type allows 64 characters
    with pytest.raises(openai.BadRequestError) as text:
        client.completions.create(model="generate", prompt=too_long, max_tokens=4)
    assert text.value.param == "prompt"
    assert "prompt: String should have at most 64 characters" in str(text.value)
    with pytest.raises(openai.BadRequestError) as chat:
        client.chat.completions.create(
            model="generate", messages=[{"role": "user", "content": too_long}], max_tokens=4
        )
    assert chat.value.param == "messages"


# Real processes, browsers or external tools: part of the full suite, not the fast one.
pytestmark = pytest.mark.slow
