"""On a real engine: `dockyard run` and `dockyard test` as a new user meets them.

init -> run in two commands; a missing image is built (or refused with --no-build); start-up
failures are reported at once with their reason; secrets reach both sides of the gate and their
plaintext copies do not outlive the start; everything is labelled, run containers remove
themselves, and a rebuild removes the image it superseded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.image.engine import Engine
from tests.support.waiting import eventually

from ..conftest import free_port
from .engine_support import (
    BASE,
    containers,
    engine_or_skip,
    keyed_project,
    remove_images,
    set_memory,
    unique,
)

pytestmark = [pytest.mark.engine, pytest.mark.slow]
KEY = "sk-everyday-7Qm2Zr8Lw4"


def dockyard(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKYARD_BASE_IMAGE": BASE}
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def stop(output: str) -> None:
    """Stop what a `dockyard run` printed (its own stop command)."""
    match = re.search(r"stop with `docker stop ([^`]+)`", output)
    if match:
        subprocess.run(["docker", "stop", "-t", "5", *match.group(1).split()], capture_output=True)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return engine_or_skip()


@pytest.fixture(scope="module")
def keyed(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A built project whose model reads its API key secret in setup."""
    name = unique("ee-keyed")
    root = keyed_project(tmp_path_factory.mktemp("keyed") / name, name)
    done = dockyard("build", str(root))
    assert done.returncode == 0, done.stderr
    yield root
    remove_images(f"{name}:0.1.0")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.txt"
    path.write_text(KEY)
    return path


def test_init_then_run_gives_a_healthy_container_in_two_commands(
    engine: Engine, tmp_path: Path
) -> None:
    name = unique("ee-init")
    root = tmp_path / name
    assert dockyard("init", str(root)).returncode == 0
    port = free_port()
    done = dockyard("run", str(root), "--port", str(port))
    try:
        assert done.returncode == 0, done.stderr
        assert re.search(rf"ready in \d+\.\ds: http://127\.0\.0\.1:{port}", done.stdout)
        # the service's own breakdown of that time (#17), read from /readyz
        phases = r"start-up: interpreter [\d.]+s, dockyard [\d.]+s, model import [\d.]+s, server"
        assert re.search(phases, done.stdout), done.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            assert response.status == 200
        assert len(containers(f"dev.dockyard.project={name}")) == 1
        image = engine.image(f"{name}:0.1.0") or {}
        assert image["Config"]["Labels"]["dev.dockyard.project"] == name
        stop(done.stdout)
        eventually(lambda: not containers(f"dev.dockyard.project={name}"), timeout=20, interval=0.3)
    finally:
        stop(done.stdout)
        remove_images(f"{name}:0.1.0")


def remove_project_images(engine: Engine, name: str) -> None:
    """The image and its kept build stage (the labelled cache of the next build)."""
    remove_images(f"{name}:0.1.0")
    for image in engine.images(f"dev.dockyard.project={name}"):
        remove_images(image["Id"])


def test_rebuild_removes_the_image_it_superseded(engine: Engine, tmp_path: Path) -> None:
    name = unique("ee-rebuild")
    root = tmp_path / name
    assert dockyard("init", str(root)).returncode == 0
    try:
        assert dockyard("build", str(root)).returncode == 0
        first = (engine.image(f"{name}:0.1.0") or {})["Id"]
        (root / "model.py").write_text((root / "model.py").read_text() + "\n# changed\n")
        done = dockyard("build", str(root))
        assert done.returncode == 0, done.stderr
        assert (engine.image(f"{name}:0.1.0") or {})["Id"] != first
        assert engine.image(first) is None
        assert "removed 1 superseded image" in done.stderr
    finally:
        remove_project_images(engine, name)


def test_a_dependency_change_leaves_no_dangling_build_stage(engine: Engine, tmp_path: Path) -> None:
    """The classic builder keeps each build stage as an untagged image; a rebuild with other
    dependencies must remove the superseded one and keep the current one (the next cache).

    A baked artifact named after the project makes this project's stage images recognisable
    among the engine's dangling images (other builds may run meanwhile)."""
    name = unique("ee-deps")
    root = tmp_path / name
    assert dockyard("init", str(root)).returncode == 0
    weights = root / f"{name}.bin"
    weights.write_bytes(name.encode())
    digest = hashlib.sha256(name.encode()).hexdigest()
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(f'\n[[artifacts]]\nname = "{name}.bin"\npath = "{name}.bin"\n'
                   f'sha256 = "{digest}"\n')  # fmt: skip

    def ours() -> set[str]:
        ids = subprocess.run(
            ["docker", "images", "-qf", "dangling=true", "--no-trunc"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        return {i for i in ids if any(name in layer.created_by for layer in engine.history(i))}

    try:
        assert dockyard("build", str(root)).returncode == 0
        first = ours()
        assert len(first) <= 1, "at most the current build stage (the next build's cache)"
        with (root / "requirements.txt").open("a") as requirements:
            requirements.write("six==1.17.0\n")
        done = dockyard("build", str(root))
        assert done.returncode == 0, done.stderr
        assert "six" in (root / "dockyard.lock").read_text()
        after = ours()
        assert len(after) <= len(first) and not first & after, (first, after)
        again = dockyard("build", str(root))  # the kept stage is the cache: no pip, no builder
        said = " ".join((again.stdout + again.stderr).split())
        cached = re.search(r"build stage [0-9a-f]{16} cached", said)
        assert again.returncode == 0 and cached and "pip --python" not in said, said
    finally:
        remove_project_images(engine, name)


def test_run_without_an_image_and_no_build_says_how(tmp_path: Path) -> None:
    name = unique("ee-nobuild")
    root = tmp_path / name
    assert dockyard("init", str(root)).returncode == 0
    done = dockyard("run", str(root), "--no-build")
    assert done.returncode == 5
    assert f"image {name}:0.1.0 is not on the engine: build it with `dockyard build" in " ".join(
        done.stderr.split()
    )


def test_oom_at_start_is_reported_at_once_with_the_limit(
    keyed: Path, key_file: Path, tmp_path: Path
) -> None:
    root = tmp_path / keyed.name  # same project and image, a spec whose limit is far too low
    shutil.copytree(keyed, root)
    set_memory(root, "24m")
    started = time.monotonic()
    done = dockyard("run", str(root), "--secret", f"api_token={key_file}", "--timeout", "90")
    elapsed = time.monotonic() - started
    stop(done.stdout)
    said = " ".join(done.stderr.split())
    assert done.returncode == 5, done.stdout
    assert "OOMKilled" in said and "resources.memory = 24 MiB" in said
    assert "within" not in said and elapsed < 45


def test_failed_setup_is_reported_at_once_with_its_reason(keyed: Path, tmp_path: Path) -> None:
    revoked = tmp_path / "revoked.txt"
    revoked.write_text("revoked")
    started = time.monotonic()
    done = dockyard("run", str(keyed), "--secret", f"api_token={revoked}", "--timeout", "90")
    elapsed = time.monotonic() - started
    stop(done.stdout)
    said = " ".join(done.stderr.split())
    assert done.returncode == 5, done.stdout
    assert "the upstream rejected the API key" in said
    assert re.search(r"after \d+\.\ds", said) and "last log lines" in said
    assert elapsed < 45
    assert not containers(f"dev.dockyard.project={keyed.name}")  # nothing left behind


def test_run_secret_is_mounted_but_its_plaintext_copy_is_gone(
    engine: Engine, keyed: Path, key_file: Path
) -> None:
    port = str(free_port())
    done = dockyard("run", str(keyed), "--secret", f"api_token={key_file}", "--port", port)
    try:
        assert done.returncode == 0, done.stderr
        found = containers(f"dev.dockyard.project={keyed.name}")
        assert len(found) == 1, subprocess.run(["docker", "ps", "-a"], capture_output=True).stdout
        container = found[0]
        assert engine.exec(container, ["cat", "/run/secrets/api_token"])[1] == KEY
        mounts = engine.inspect(container)["Mounts"]
        [mount] = [m for m in mounts if m["Destination"] == "/run/secrets/api_token"]
        assert not Path(mount["Source"]).exists()
        assert not (keyed / ".dockyard" / "run-secrets").exists()
    finally:
        stop(done.stdout)


def test_gate_gives_the_secret_to_the_container_and_the_host_side(
    keyed: Path, key_file: Path
) -> None:
    image = f"{keyed.name}:0.1.0"
    done = dockyard(
        "test", str(keyed), "--image", image, "--secret", f"api_token={key_file}",
        "--requests", "10", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["passed"] and report["checks"][0]["name"] == "parity"
    assert re.search(r"peak memory \d+ MiB, limit 256 MiB", done.stderr)
    assert "Traceback" not in done.stderr
    assert not (keyed / ".dockyard" / "run-secrets").exists()
