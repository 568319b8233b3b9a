"""On a real engine: two clones in different directories give the same image id, even when the
build stage is built again from nothing; a one-line code change adds one small layer."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from dockyard.image.builder import build_image, prepare
from dockyard.image.container import PROJECT_LABEL
from dockyard.image.context import write_tar
from dockyard.image.direct import assemble
from dockyard.image.engine import Engine
from dockyard.spec import load_spec

from .conftest import FIXTURES
from .engine_support import BASE, engine_or_skip, remove_images, unique

pytestmark = [pytest.mark.engine, pytest.mark.slow]
QUIET = Console(quiet=True)


def _git(cwd: Path, *args: str, date: str = "2026-01-02T03:04:05Z") -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": date}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One repository holding the fixture project, cloned into two unrelated directories."""
    origin = tmp_path_factory.mktemp("origin") / "linear"
    shutil.copytree(FIXTURES / "linear", origin)
    name = unique("repro-linear")
    toml = origin / "dockyard.toml"
    toml.write_text(toml.read_text().replace('name = "linear-fixture"', f'name = "{name}"'))
    _git(origin, "init", "-q")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-qm", "fixture")
    first = tmp_path_factory.mktemp("one") / "a"
    second = tmp_path_factory.mktemp("two") / "deeper" / "b"
    for dest in (first, second):
        _git(origin.parent, "clone", "-q", str(origin), str(dest))
    return first, second


@pytest.fixture(scope="module")
def engine(clones: tuple[Path, Path]) -> Iterator[Engine]:
    engine = engine_or_skip()
    yield engine
    project = load_spec(clones[0]).project.name
    for image in engine.images(f"{PROJECT_LABEL}={project}"):
        engine.remove_image(image["Id"])
    remove_images(f"{project}:0.1.0")


def _fresh_stage(engine: Engine, root: Path) -> str:
    """The build stage built again without the engine's cache: a new venv, new file times."""
    prepared = prepare(root, BASE, None, QUIET)
    with tempfile.TemporaryFile() as context:
        write_tar(prepared.entries, context)
        context.seek(0)
        events = engine.api.build(
            fileobj=context, custom_context=True, target="build", nocache=True, decode=True
        )
        found = [e["aux"]["ID"] for e in events if "aux" in e and "ID" in e["aux"]]
    return str(found[-1])


def test_two_clones_give_the_same_image_id(engine: Engine, clones: tuple[Path, Path]) -> None:
    first, second = clones
    built = build_image(first, BASE, None, QUIET)
    again = build_image(second, BASE, None, QUIET)
    assert again.image_id == built.image_id
    # the stage rebuilt from nothing (pip installs again, every file gets a new time): same id
    prepared = prepare(second, BASE, None, QUIET)
    stage = _fresh_stage(engine, second)
    try:
        cache = Path(tempfile.mkdtemp())
        base = engine.image(BASE) or {}
        fresh = assemble(
            engine, prepared.plan, base, stage, prepared.entries, prepared.epoch, cache
        )
    finally:
        engine.remove_image(stage)
    assert fresh == built.image_id


def test_a_code_change_adds_one_small_layer(engine: Engine, clones: tuple[Path, Path]) -> None:
    _, root = clones
    before = build_image(root, BASE, None, QUIET)
    layers = (engine.image(before.image_id) or {})["RootFS"]["Layers"]
    model = root / "model.py"
    model.write_text(model.read_text() + "# one more line\n")
    _git(root, "commit", "-qam", "a one-line change", date="2026-02-03T04:05:06Z")
    after = build_image(root, BASE, None, QUIET)
    changed = (engine.image(after.image_id) or {})["RootFS"]["Layers"]
    assert after.image_id != before.image_id
    assert changed[:-1] == layers[:-1] and changed[-1] != layers[-1]
    assert _saved_size(engine, after.tag, changed[-1]) < 64 * 1024


def _saved_size(engine: Engine, ref: str, diff_id: str) -> int:
    """The bytes `docker save` writes for the layer `diff_id`."""
    data = io.BytesIO(b"".join(engine.export_layers(ref)))
    with tarfile.open(fileobj=data) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.name.endswith("layer.tar") else None
            if handle and f"sha256:{hashlib.sha256(handle.read()).hexdigest()}" == diff_id:
                return member.size
    raise AssertionError(f"{diff_id} is not in the saved image")
