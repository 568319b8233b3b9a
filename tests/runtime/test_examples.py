"""The examples serve: golden canaries pass, answers have the right shape and quality."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import dockyard
from tests.conftest import App
from tests.support.procs import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_digits_is_accurate_through_the_api(app: App) -> None:
    client = app(EXAMPLES / "digits")
    rows = [
        json.loads(line) for line in (EXAMPLES / "digits" / "eval.jsonl").read_text().splitlines()
    ]
    body = {"inputs": [r["input"] for r in rows]}
    outputs = client.post("/predict", json=body).json()["outputs"]
    accuracy = sum(o["label"] == r["label"] for o, r in zip(outputs, rows, strict=True)) / len(rows)
    assert accuracy > 0.95


@pytest.mark.slow  # loads torch and a real model in a server process
def test_embed_serves_real_sentence_embeddings(serve: type[Server]) -> None:
    pytest.importorskip("sentence_transformers")
    server = serve(EXAMPLES / "embed", "--no-access-log")
    server.wait("/readyz", timeout=120)  # loading torch and the canary on the golden sentences
    sentences = ["A dog runs in the park.", "A puppy plays on the grass.", "Stock markets fell."]
    vectors = httpx.post(server.url + "/predict", json={"inputs": sentences}, timeout=60).json()[
        "outputs"
    ]
    assert [len(v) for v in vectors] == [384, 384, 384]

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))  # the model's vectors are unit length

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2


def test_public_api_is_sorted_and_complete() -> None:
    assert dockyard.__all__ == sorted(dockyard.__all__)
    assert all(hasattr(dockyard, name) for name in dockyard.__all__)
