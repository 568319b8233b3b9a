"""Fixtures for the build tests: the fixture projects, golden files, a deterministic plan."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dockyard.image.plan import BuildPlan, Overrides, plan_for
from dockyard.spec import Spec, load_spec
from tests.support import golden as support

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"

OVERRIDES = Overrides(
    revision="0123456789abcdef",
    created="2026-01-01T00:00:00Z",
    source="https://example.invalid/dockyard",
    dockyard_version="0.1.0",
    dockyard_wheel="dockyard-0.1.0-py3-none-any.whl",
    pins=("numpy==2.4.6",),
)


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/image/golden/NAME (see tests.support.golden)."""
    support.assert_golden(GOLDEN / name, text)


@pytest.fixture
def linear_dir(tmp_path: Path) -> Path:
    """A writable copy of the linear fixture project."""
    dest = tmp_path / "linear"
    shutil.copytree(FIXTURES / "linear", dest)
    return dest


@pytest.fixture
def linear_spec() -> Spec:
    return load_spec(FIXTURES / "linear")


@pytest.fixture
def linear_plan(linear_spec: Spec) -> BuildPlan:
    return plan_for(linear_spec, FIXTURES / "linear", OVERRIDES)
