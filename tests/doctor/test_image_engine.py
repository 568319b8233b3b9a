"""`--image` on a real engine: a secret planted in one layer and deleted in the next is found."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app

BASE = "dockyard-local/python:3.11-bookworm"
SECRET = "sk-proj-4fT9xQ2mLw8ZpR7vK3nB5cY1hJ6dG0sA"
DOCKERFILE = f"""FROM {BASE}
RUN mkdir -p /app && echo "OPENAI_API_KEY={SECRET}" > /app/.env
RUN rm /app/.env
CMD ["python3", "-c", "print(1)"]
"""
pytestmark = pytest.mark.engine


def _engine_has_base() -> bool:
    try:
        import docker

        docker.from_env().images.get(BASE)
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def leaky_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not _engine_has_base():
        pytest.skip(f"no engine or no {BASE} image")
    context: Path = tmp_path_factory.mktemp("leaky")
    (context / "Dockerfile").write_text(DOCKERFILE)
    tag = f"dockyard-doctor-test/leaky:{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(context)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    yield tag
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, check=False)


def test_image_scan_finds_a_deleted_secret(leaky_image: str) -> None:
    result = CliRunner().invoke(
        app, ["doctor", "--image", leaky_image, "--format", "json", "--fail-on", "never"]
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    findings = json.loads(result.output)["findings"]
    leaked = [f for f in findings if f["rule"] == "DY306"]
    assert leaked and "app/.env" in leaked[0]["message"]
    assert "deleted in layer" in leaked[0]["message"]
    assert any(f["rule"] == "DY307" for f in findings)  # the echo is in the history too
    assert any(f["rule"] == "DY501" for f in findings)  # no USER
