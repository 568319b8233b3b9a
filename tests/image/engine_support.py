"""Helpers for the real-engine tests of run, test and up: a skip when no engine, unique projects."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.errors import EngineError
from dockyard.image.engine import Engine

from .conftest import FIXTURES

BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")

# The linear fixture, reading its API key in setup as a real upstream client would; a revoked
# key makes setup fail, as an upstream refusing it would.
KEYED_MODEL = '''"""Linear model that needs an API key, read from its secret file."""

import json

import numpy as np

from dockyard import Model


class Linear(Model[list[float], float]):
    def setup(self) -> None:
        key = self.secrets["api_token"].read_text().strip()
        if key == "revoked":
            raise RuntimeError("the upstream rejected the API key")
        data = json.loads(self.artifacts["weights"].read_text())
        self.w = np.asarray(data["w"], dtype=np.float64)
        self.b = float(data["b"])

    def predict(self, batch: list[list[float]]) -> list[float]:
        return [float(v) for v in np.asarray(batch, dtype=np.float64) @ self.w + self.b]
'''


def engine_or_skip() -> Engine:
    try:
        engine = Engine.connect(timeout=60)
    except EngineError:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing (run scripts/provision-engine.sh)")
    return engine


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def keyed_project(dest: Path, name: str, extra_toml: str = "") -> Path:
    """A copy of the linear fixture named `name`, whose model reads its `api_token` secret."""
    shutil.copytree(FIXTURES / "linear", dest)
    (dest / "model.py").write_text(KEYED_MODEL)
    toml = dest / "dockyard.toml"
    text = toml.read_text().replace('name = "linear-fixture"', f'name = "{name}"')
    toml.write_text(text + extra_toml)
    return dest


def set_memory(root: Path, memory: str) -> None:
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text().replace('memory = "256m"', f'memory = "{memory}"'))


def containers(label: str) -> list[str]:
    """Ids of every container (running or not) with `label`."""
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True
    )
    return out.stdout.split()


def remove_images(reference: str) -> None:
    subprocess.run(["docker", "image", "rm", "-f", reference], capture_output=True, check=False)
