"""examples/generate in a container: built, run with `dockyard run`, gated by `dockyard test`,
and streamed through the `openai` client."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from rich.console import Console

from dockyard.cli.build import build_image
from dockyard.cli.main import main
from dockyard.errors import EngineError
from dockyard.image.engine import Engine
from tests.conftest import REPO, free_port

pytestmark = [pytest.mark.engine, pytest.mark.slow]
BASE = "dockyard-local/python:3.11-bookworm"
EXAMPLE = REPO / "examples" / "generate"


@pytest.fixture(scope="module")
def engine() -> Engine:
    try:
        engine = Engine.connect(timeout=30)
    except EngineError:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing (run scripts/provision-engine.sh)")
    return engine


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generate-engine") / "generate"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".dockyard", "__pycache__"))
    return root


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path) -> Iterator[str]:
    tag = f"dockyard-test/generate-{uuid.uuid4().hex[:8]}:engine"
    build_image(project, BASE, tag, Console(quiet=True))
    yield tag
    engine.api.remove_image(tag, force=True)


@pytest.fixture(scope="module")
def url(engine: Engine, project: Path, image: str) -> Iterator[str]:
    port = free_port()
    main(["run", str(project), "--image", image, "--port", str(port)])  # returns once ready
    yield f"http://127.0.0.1:{port}"
    for container in engine.api.containers(all=True, filters={"ancestor": image}):
        engine.remove(container["Id"])


def golden() -> list[dict[str, str]]:
    lines = (EXAMPLE / "golden.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_the_doctor_raises_no_alarm_on_the_image(image: str) -> None:
    """Issue 11's image set: the image this module built (tests/doctor/image_set.py)."""
    from tests.doctor.image_set import image_alarms

    assert image_alarms(image) == {image: []}


def test_the_container_streams_golden_text_through_the_openai_client(url: str) -> None:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    sample = golden()[0]
    stream = client.completions.create(
        model="generate", prompt=sample["input"], max_tokens=64, temperature=0, stream=True
    )
    pieces = [c.choices[0].text for c in stream]
    assert len(pieces) > 1 and "".join(pieces) == sample["output"]
    chat = client.chat.completions.create(
        model="generate",
        messages=[{"role": "user", "content": golden()[1]["input"]}],
        max_tokens=64,
    )
    assert chat.choices[0].message.content == golden()[1]["output"]
    assert chat.usage is not None and chat.usage.completion_tokens == 64


def test_the_gate_passes(project: Path, image: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["test", str(project), "--image", image, "--requests", "10"])  # exits 6 on failure
    assert "PASSED" in capsys.readouterr().out
