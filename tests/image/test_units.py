"""Pure parts without an engine: app files, run settings, gate checks, self wheel, base choice."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

import dockyard
from dockyard.errors import BuildError, SpecError
from dockyard.image import gate
from dockyard.image.container import RunSettings, container_config
from dockyard.image.context import app_files, stage, write_tar
from dockyard.image.plan import BuildPlan, Overrides, choose_base, plan_for
from dockyard.image.secrets import require_all
from dockyard.image.selfwheel import build_self_wheel, in_serve_extra, runtime_requirements
from dockyard.image.startup import wait_ready
from dockyard.spec import Spec, load_spec

from .conftest import OVERRIDES


def _plan(root: Path) -> BuildPlan:
    return plan_for(load_spec(root), root, OVERRIDES)


def test_app_files_leave_out_secrets_tests_caches_and_artifacts(linear_dir: Path) -> None:
    for junk in (
        ".env",
        "secrets/token",
        ".git/config",
        "tests/test_model.py",
        ".venv/bin/python",
        "__pycache__/model.cpython-311.pyc",
        "data/big.csv",
    ):
        (linear_dir / junk).parent.mkdir(parents=True, exist_ok=True)
        (linear_dir / junk).write_text("x")
    (linear_dir / "blob.bin").write_bytes(b"0" * (11 * 1024**2))
    files = app_files(_plan(linear_dir), linear_dir)
    assert set(files.files) == {"dockyard.toml", "model.py", "tests/golden.jsonl"}
    assert files.skipped == ("blob.bin",)


def test_context_layout_links_artifacts_and_stubs_requirements(linear_dir: Path) -> None:
    plan = _plan(linear_dir)
    entries = stage(
        plan,
        linear_dir,
        app_files(plan, linear_dir),
        [],
        b"whl",
        "lock",
        "FROM x",
        ["requirements.txt"],
    )
    names = {e.name: e for e in entries}
    assert names["app/artifacts/weights.json"].link == "/models/weights"
    assert b"dockyard.lock" in (names["app/requirements.txt"].data or b"")
    buffer = io.BytesIO()
    write_tar(entries, buffer)
    first = buffer.getvalue()
    buffer = io.BytesIO()
    write_tar(entries, buffer)
    assert buffer.getvalue() == first  # deterministic: unchanged inputs hit the layer cache


def test_run_config_is_locked_down(linear_spec: Spec, linear_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "api_token"
    secret.write_text("zz-secret")
    config = container_config(
        linear_spec, linear_dir, RunSettings(image="i", secrets={"api_token": secret})
    )
    host = config["host_config"]
    assert host["port_bindings"] == {"8000/tcp": ("127.0.0.1", None)}
    assert host["read_only"] and host["cap_drop"] == ["ALL"] and host["init"]
    assert host["security_opt"] == ["no-new-privileges:true"]
    assert host["mem_limit"] == 256 * 1024**2 and host["nano_cpus"] == 10**9
    assert host["binds"][str(secret)] == {"bind": "/run/secrets/api_token", "mode": "ro"}
    assert "zz-secret" not in str(config)


def test_worker_config_shares_the_jobs_volume_and_publishes_nothing(linear_dir: Path) -> None:
    spec = Spec.model_validate({
        "project": {"name": "bulk"},
        "model": {"entrypoint": "model:Linear"},
        "worker": {"enabled": True, "sqlite_path": "/data/jobs.sqlite3"},
    })  # fmt: skip
    settings = RunSettings(
        image="bulk:1", auto_remove=True, jobs_volume="bulk-jobs", labels={"dev.dockyard.run": "r1"}
    )
    config = container_config(spec, linear_dir, settings, role="worker")
    host = config["host_config"]
    assert host["binds"]["bulk-jobs"] == {"bind": "/data", "mode": "rw"}
    assert host["auto_remove"] is True and host["read_only"]
    assert host["port_bindings"] == {} and config["ports"] == []
    assert config["labels"] == {
        "dev.dockyard.project": "bulk",
        "dev.dockyard.role": "worker",
        "dev.dockyard.run": "r1",
    }
    assert config["command"] == ["worker", "/app"]
    assert "--worker" in config["healthcheck"]["test"]
    api = container_config(spec, linear_dir, settings)  # the API mounts the same volume
    assert api["host_config"]["binds"]["bulk-jobs"] == {"bind": "/data", "mode": "rw"}
    assert api["labels"]["dev.dockyard.role"] == "api"


def test_init_wires_its_requirements_file_into_the_lock(tmp_path: Path) -> None:
    """A package added to the scaffold's requirements.txt must reach the lock, not be ignored."""
    from dockyard.cli.project import init
    from dockyard.image.resolve import lock_inputs

    init(tmp_path / "hello", name=None, force=False)
    root = tmp_path / "hello"
    before, args = lock_inputs(load_spec(root), root)
    assert ["-r", str(root / "requirements.txt")] == args[:2]
    with (root / "requirements.txt").open("a") as requirements:
        requirements.write("six==1.17.0\n")
    after, _ = lock_inputs(load_spec(root), root)
    assert "six==1.17.0" in after.requirements and after.digest() != before.digest()


def test_run_requires_every_declared_secret(linear_spec: Spec, linear_dir: Path) -> None:
    with pytest.raises(SpecError, match="api_token"):
        require_all(linear_spec, {}, "run")


def test_wait_ready_gives_up_when_the_container_exits() -> None:
    assert wait_ready("http://127.0.0.1:9", lambda: False, timeout_s=5).verdict == "exited"


def test_gate_checks() -> None:
    def compare(a: object, e: object, atol: float, rtol: float, where: str) -> str | None:
        return None if a == e else f"{where}: {a} != {e}"

    samples = [gate.Sample([1], 2.0)]
    assert gate.parity(samples, [2.0], [2.0], compare, 0, 0).status == "pass"
    assert gate.parity(samples, [3.0], [3.0], compare, 0, 0).status == "fail"
    assert gate.quality([1, 0, 1], [1, 1, 1], "accuracy", 0.9).status == "fail"
    assert gate.quality([{"y": 1}], [1], "accuracy", 1.0, "y").status == "pass"
    assert gate.percentile([5, 1, 4, 2, 3], 95) == 5
    assert gate.latency([0.01] * 10, 0, 5.0, 2).status == "fail"
    assert gate.latency([0.001] * 10, 1, 5.0, 2).status == "fail"
    assert gate.non_root("0\n", "0").status == "fail"
    assert gate.non_root("10001\n", "10001:10001").status == "pass"
    report = gate.render_text("img", [gate.health(1, "unhealthy")])
    assert "FAILED: healthcheck" in report


def test_self_wheel_names_only_runtime_dependencies() -> None:
    pkg = Path(dockyard.__file__).parent
    reqs = runtime_requirements(pkg)
    assert not any(r.startswith(("typer", "rich", "docker")) for r in reqs)
    wheel = build_self_wheel(pkg, "0.1.0", reqs)
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        names = archive.namelist()
        metadata = archive.read("dockyard-0.1.0.dist-info/METADATA").decode()
    assert "dockyard/runtime/contract.py" in names and not any("__pycache__" in n for n in names)
    assert "Requires-Dist: pydantic" in metadata and "typer" not in metadata
    assert build_self_wheel(pkg, "0.1.0", reqs).data == wheel.data


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("uv; (sys_platform != 'win32') and extra == 'serve'", 'uv; sys_platform != "win32"'),
        ("croniter>=2; extra == 'serve'", "croniter>=2"),
        (
            'z[a]>=1; extra == "serve" and python_version < "3.12"',
            'z[a]>=1; python_version < "3.12"',
        ),
        ('ruff; extra == "dev"', None),
        ('other; extra == "servers"', None),
        ("pydantic>=2", None),
    ],
)
def test_the_serve_extra_is_read_from_markers(line: str, kept: str | None) -> None:
    assert in_serve_extra(line) == kept


def test_base_choice_order(linear_spec: Spec) -> None:
    assert choose_base(linear_spec, Overrides()) == "python:3.11-slim-bookworm"
    pinned = "python:3.11-slim-bookworm@sha256:" + "a" * 64
    assert choose_base(linear_spec, Overrides(locked_base=pinned)) == pinned
    assert (
        choose_base(linear_spec, Overrides(base_image="local/py", locked_base=pinned)) == "local/py"
    )


def test_gpu_base_is_a_cuda_runtime_image(linear_spec: Spec) -> None:
    gpu = linear_spec.model_copy(
        update={
            "resources": linear_spec.resources.model_copy(update={"gpus": 1}),
            "project": linear_spec.project.model_copy(update={"python": "3.12"}),
            "build": linear_spec.build.model_copy(update={"cuda": "12.4.1"}),
        }
    )
    assert choose_base(gpu, Overrides()) == "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu24.04"
    with pytest.raises(BuildError, match="devel"):
        choose_base(gpu, Overrides(base_image="nvidia/cuda:12.4.1-devel-ubuntu24.04"))
    with pytest.raises(BuildError, match=r"CUDA 12\.1"):
        choose_base(gpu, replace(Overrides(), pins=("torch==2.5.0+cu121",)))
    no_cuda = gpu.model_copy(update={"build": linear_spec.build})
    with pytest.raises(BuildError, match=r"build\.cuda"):
        choose_base(no_cuda, Overrides())
