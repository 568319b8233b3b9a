"""On a real engine: build the fixture, run it like production, gate-test it.

Uses the local base image (DOCKYARD_TEST_BASE_IMAGE, default the provisioned one); the image is
built once per module and reused.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from dockyard.cli.main import main
from dockyard.errors import EngineError
from dockyard.image.builder import build_image
from dockyard.image.container import RunSettings, container_config
from dockyard.image.engine import Engine
from dockyard.image.launch import launch, teardown
from dockyard.image.secrets import find_secrets, private_dir, with_placeholders, write_secrets
from dockyard.image.startup import wait_ready
from dockyard.spec import load_spec

from .conftest import FIXTURES

BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
SECRET = "tok-7Hq2Lx9Pz3-unique-secret"
pytestmark = pytest.mark.engine


def _engine() -> Engine:
    try:
        engine = Engine.connect(timeout=30)
    except EngineError:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing (run scripts/provision-engine.sh)")
    return engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return _engine()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engine") / "linear"
    shutil.copytree(FIXTURES / "linear", root)
    return root


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path) -> str:
    return build_image(project, BASE, "dockyard-test/linear:engine", Console(quiet=True)).tag


@pytest.fixture(scope="module")
def running(engine: Engine, project: Path, image: str) -> Iterator[tuple[str, str]]:
    spec = load_spec(project)
    secret_file = project.parent / "token.txt"
    secret_file.write_text(SECRET)
    secrets = find_secrets(spec, project, [f"api_token={secret_file}"], {})
    launched = launch(engine, spec, project, RunSettings(image=image), secrets, 120)
    yield launched.api, launched.url
    teardown(engine, launched)


def _post(url: str, inputs: list[object]) -> list[object]:
    req = urllib.request.Request(
        f"{url}/predict",
        json.dumps({"inputs": inputs}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return list(json.loads(resp.read())["outputs"])


def test_predictions_match_local(running: tuple[str, str], project: Path) -> None:
    from dockyard.cli.serve import predict_local

    inputs: list[object] = [[1.0, 2.0, 3.0], [0.5, -0.25, 8.0]]
    assert _post(running[1], inputs) == pytest.approx(predict_local(project, inputs))


def test_runs_as_non_root_read_only_with_limits(engine: Engine, running: tuple[str, str]) -> None:
    container = running[0]
    assert engine.exec(container, ["id", "-u"])[1].strip() not in ("0", "")
    code, out = engine.exec(container, ["sh", "-c", "touch /app/x || touch /x"])
    assert code != 0 and "Read-only file system" in out
    host = engine.inspect(container)["HostConfig"]
    assert host["Memory"] == 256 * 1024**2 and host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
    assert engine.exec(container, ["python", "-m", "dockyard.runtime", "healthcheck"])[0] == 0


def test_secret_is_a_file_only(engine: Engine, running: tuple[str, str], image: str) -> None:
    container = running[0]
    assert engine.exec(container, ["cat", "/run/secrets/api_token"])[1] == SECRET
    assert SECRET not in json.dumps(engine.inspect(container))
    assert SECRET not in json.dumps(engine.image(image))
    assert all(SECRET not in layer.created_by for layer in engine.history(image))
    assert not _found_in_layers(engine, image, SECRET.encode())


def _found_in_layers(engine: Engine, image: str, needle: bytes) -> bool:
    """Scan every file of every layer of `docker save`."""
    saved = io.BytesIO(b"".join(engine.export_layers(image)))
    with tarfile.open(fileobj=saved) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            data = outer.extractfile(member)
            if data is None:
                continue
            blob = data.read()
            if needle in blob:
                return True
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=io.BytesIO(blob)) as layer:
                    for inner in layer.getmembers():
                        if not inner.isfile():
                            continue
                        handle = layer.extractfile(inner)
                        if handle is not None and needle in handle.read():
                            return True
    return False


def test_runtime_stage_is_bare(engine: Engine, image: str) -> None:
    out = engine.run_once(
        image,
        [
            "sh",
            "-c",
            "ls /opt/venv/bin; find /app -name __pycache__ -o -name tests -path '/app/*';"
            " ls /app; python3 -m pip --version 2>&1 | head -1",
        ],
        entrypoint=[],
    )
    assert "pip" not in out.split("No module named")[0].replace("pip --version", "")
    assert "__pycache__" not in out and "test_model.py" not in out


PYCS = """
import pathlib, sys
pycs = list(pathlib.Path("/opt/venv").rglob("*.pyc"))
stamped = [p for p in pycs if not int.from_bytes(p.read_bytes()[4:8], "little") & 1]
import dockyard.runtime.app
print(len(pycs), len(stamped), sys.modules["dockyard.runtime.app"].__cached__)
"""


def test_bytecode_is_what_start_up_imports_compiled_by_hash(engine: Engine, image: str) -> None:
    """build.bytecode = "runtime": hash-based pycs only (reproducible), the service's among them."""
    out = engine.run_once(image, ["/opt/venv/bin/python", "-c", PYCS], entrypoint=[])
    count, stamped, cached = out.split()
    assert int(count) > 100 and int(stamped) == 0, out
    assert Path(cached).name == "app.cpython-311.pyc"
    there = engine.run_once(image, ["sh", "-c", f"test -f {cached} && echo yes"], entrypoint=[])
    assert there.strip() == "yes"


def test_code_change_reuses_dependency_layers(
    engine: Engine, project: Path, image: str, tmp_path: Path
) -> None:
    """A one-line change in the model's module: the same layers, but a new last one (the app)."""
    # A changed copy under its own tag: the module's project and image stay as built.
    changed = tmp_path / "linear"
    shutil.copytree(project, changed)
    model = changed / "model.py"
    model.write_text(model.read_text() + "\n# a one-line change\n")
    tag = f"{image}-changed-{os.getpid()}"
    try:
        build_image(changed, BASE, tag, Console(quiet=True))
        before = (engine.image(image) or {})["RootFS"]["Layers"]
        after = (engine.image(tag) or {})["RootFS"]["Layers"]
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
    assert len(after) == len(before) and after[:-1] == before[:-1] and after[-1] != before[-1]


def test_corrupted_volume_artifact_stays_unready(
    engine: Engine, project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "volume"
    shutil.copytree(project, root)
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text().replace('sha256 = "', 'mode = "volume"\nsha256 = "'))
    tag = build_image(root, BASE, "dockyard-test/linear:volume", Console(quiet=True)).tag
    (root / "artifacts" / "weights.json").write_text('{"w": [9, 9, 9], "b": 0}')
    spec = load_spec(root)
    secrets = write_secrets(with_placeholders(spec, {}), private_dir(), spec.build.uid)
    container = engine.create(
        **container_config(spec, root, RunSettings(image=tag, secrets=secrets))
    )
    try:
        engine.start(container)
        from dockyard.image.container import published_url

        url = published_url(engine.inspect(container), spec.serving.port)
        running = lambda: bool((engine.state(container) or {}).get("Running"))  # noqa: E731
        outcome = wait_ready(url, running, timeout_s=60)  # ends at the failed state or exit
        assert outcome.verdict in ("failed", "exited"), outcome
        said = outcome.readiness.reason + engine.logs(container, tail=100)
        assert "sha256" in said
    finally:
        engine.remove(container)


def test_broken_golden_fails_the_gate(
    project: Path, image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "broken"
    shutil.copytree(project, root)
    golden = root / "tests" / "golden.jsonl"
    golden.write_text(golden.read_text().replace('"output": 4.125', '"output": 5.0'))
    with pytest.raises(SystemExit) as exit_info:
        main(["test", str(root), "--image", image, "--format", "json", "--requests", "20"])
    assert exit_info.value.code == 6
    report = json.loads(capsys.readouterr().out)
    assert not report["passed"] and report["checks"][0]["status"] == "fail"


def test_good_project_passes_the_gate(
    project: Path, image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["test", str(project), "--image", image, "--requests", "20"])
    said = capsys.readouterr()
    assert "PASSED" in said.out and "start-up: interpreter" in said.err
    recorded = json.loads((project / ".dockyard" / "startup.json").read_text())  # for k8s
    assert recorded["image"] == image and recorded["ready_s"] > 0
