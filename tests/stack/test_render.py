"""The rendered Compose files, without an engine: golden files, structure, `compose config`."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.deploy.compose import (
    BACK,
    DEV_HEADER,
    FRONT,
    hardened,
    render_compose,
    render_dev_overlay,
    to_yaml,
)
from dockyard.deploy.stack import compose_binary
from dockyard.doctor import check_paths
from dockyard.errors import SpecError
from dockyard.spec import Spec
from tests.stack.conftest import EXAMPLES, assert_golden, variant

ROOT = Path("/project")  # rendering is pure: the root only names the project's files
LONG_RUNNING = ("api", "worker", "redis")


def rendered(spec: Spec) -> dict[str, Any]:
    return render_compose(spec, ROOT)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_golden_stacks(backend: str) -> None:
    assert_golden(f"{backend}.compose.yaml", to_yaml(rendered(variant(backend))))


def test_golden_dev_overlay() -> None:
    root = EXAMPLES / "sqlite"
    assert_golden("sqlite.compose.dev.yaml", to_yaml(render_dev_overlay(variant("sqlite"), root),
                                                     DEV_HEADER))  # fmt: skip


def test_golden_api_only_gpu() -> None:
    assert_golden("api-gpu.compose.yaml", to_yaml(rendered(_api_only_gpu())))


def _api_only_gpu() -> Spec:
    """No workers, a GPU with reservations, two API replicas on another host port."""
    raw = variant("sqlite").model_dump(mode="json", exclude_defaults=True)
    raw["worker"] = {"enabled": False}
    raw["resources"] = {"gpus": 1, "cpus": 2, "memory": "8g", "cpus_reservation": 1,
                        "memory_reservation": "4g", "shm": "1g"}  # fmt: skip
    raw["stack"] = {"cache": False, "api_replicas": 2, "api_port": 9000}
    raw["artifacts"] = []
    raw["secrets"] = []
    return Spec.model_validate(raw)


RENDER = (
    "import sys; from tests.stack.test_render import rendered, to_yaml, variant; "
    "sys.stdout.write('\\0'.join(to_yaml(rendered(variant(b))) for b in ('sqlite', 'redis')))"
)


@pytest.mark.slow
def test_rendering_is_deterministic_across_processes() -> None:
    """Two fresh interpreters with two different hash seeds render byte-identical files."""
    repo = Path(__file__).parents[2]
    children = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", RENDER]
        children.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=repo)
        )
    outputs = [child.communicate(timeout=60)[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]
    here = [to_yaml(rendered(variant(backend))) for backend in ("sqlite", "redis")]
    assert outputs[0] == outputs[1]
    assert outputs[0].split("\0") == here


def test_only_the_api_publishes_and_only_on_loopback(backend: str) -> None:
    doc = rendered(variant(backend))
    assert doc["networks"][BACK] == {"internal": True}
    publishing = {n for n, s in doc["services"].items() if s.get("ports")}
    assert publishing == {"api"}
    assert doc["services"]["api"]["ports"][0]["host_ip"] == "127.0.0.1"
    for name, service in doc["services"].items():
        if name != "api":
            assert FRONT not in service.get("networks", []), name
            assert "expose" not in service, name


def test_every_long_running_service_is_hardened_checked_and_rotated(backend: str) -> None:
    services = rendered(variant(backend))["services"]
    for name in (n for n in LONG_RUNNING if n in services):
        s = services[name]
        assert s["healthcheck"]["test"][0] == "CMD", name
        assert s["read_only"] is True and s["cap_drop"] == ["ALL"], name
        assert s["security_opt"] == ["no-new-privileges:true"], name
        assert not str(s["user"]).startswith(("0", "root")), name
        assert s["logging"]["options"] == {"max-size": "10m", "max-file": "3"}, name
        assert s["deploy"]["resources"]["limits"]["memory"], name
        assert all(d["condition"].startswith("service_") for d in s["depends_on"].values())
    assert services["worker"]["deploy"]["replicas"] == 2


def test_redis_has_its_own_persistent_volume_on_the_back_network() -> None:
    doc = rendered(variant("redis"))
    redis = doc["services"]["redis"]
    assert redis["networks"] == [BACK]
    assert redis["volumes"] == [{"type": "volume", "source": "redis", "target": "/data"}]
    assert "--appendonly" in redis["command"] and "noeviction" in redis["command"]
    assert redis["image"] == "redis:7.4.2-alpine"
    assert doc["services"]["worker"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert "jobs" not in doc["volumes"]


def test_sqlite_queue_is_a_shared_volume_and_models_are_read_only() -> None:
    services = rendered(variant("sqlite"))["services"]
    for name in ("api", "worker"):
        mounts = {m["source"]: m for m in services[name]["volumes"]}
        assert mounts["jobs"]["target"] == "/data" and "read_only" not in mounts["jobs"]
        assert mounts["models"]["read_only"] is True
    assert "redis" not in services


def test_secrets_are_files_never_environment() -> None:
    doc = rendered(variant("sqlite"))
    assert doc["secrets"] == {"api-token": {"file": ".dockyard/run-secrets/api-token"}}
    for service in doc["services"].values():
        assert not any("TOKEN" in k or "SECRET" in k for k in service.get("environment", {}))
    assert doc["services"]["api"]["secrets"] == ["api-token"]


def test_redis_url_on_localhost_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"worker\.redis_url"):
        rendered(variant("redis", worker={"redis_url": "redis://127.0.0.1:6379/0"}))


def test_external_redis_renders_no_redis_service() -> None:
    doc = rendered(variant("redis", worker={"redis_url": "redis://cache.internal:6379/0"}))
    assert "redis" not in doc["services"]


def test_image_settings_for_air_gapped_registries() -> None:
    spec = variant("redis", stack={"redis_image": "registry.local/redis:7.4.2"})
    assert rendered(spec)["services"]["redis"]["image"] == "registry.local/redis:7.4.2"


def test_dev_overlay_changes_no_image_or_build() -> None:
    overlay = render_dev_overlay(variant("sqlite"), EXAMPLES / "sqlite")
    for service in overlay["services"].values():
        assert set(service) == {"environment", "volumes"}
        assert all(v["type"] == "bind" and v["read_only"] for v in service["volumes"])


def test_pattern_services_are_merged_with_their_volumes_and_networks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def services_for(spec: Spec, root: Path, image: str) -> dict[str, Any]:
        stage = {
            "image": image,
            "command": ["stage", "/app"],
            "networks": [BACK],
            "volumes": [{"type": "volume", "source": "stage-cache", "target": "/c"}],
        }
        return {"stage": hardened(stage, spec)}  # fmt: skip

    module = types.ModuleType("dockyard.deploy.patterns")
    module.services_for = services_for  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dockyard.deploy.patterns", module)
    doc = rendered(variant("sqlite"))
    assert doc["services"]["stage"]["read_only"] is True
    assert "stage-cache" in doc["volumes"]


def test_doctor_finds_no_parity_drift_and_nothing_above_info(tmp_path: Path) -> None:
    spec = variant("sqlite")
    (tmp_path / "compose.yaml").write_text(to_yaml(rendered(spec)))
    (tmp_path / "model.py").write_text("")
    (tmp_path / "compose.dev.yaml").write_text(
        to_yaml(render_dev_overlay(spec, tmp_path), DEV_HEADER)
    )
    findings = check_paths([tmp_path]).findings
    assert [f for f in findings if f.rule.startswith("DY7")] == []
    assert {f.severity for f in findings} <= {"info"}, findings


def _compose() -> tuple[str, ...]:
    try:
        binary = compose_binary()
    except Exception:
        pytest.skip("no Compose installed")
    if subprocess.run([*binary, "version"], capture_output=True).returncode != 0:
        pytest.skip("Compose does not run here")
    return binary


@pytest.mark.parametrize("dev", [False, True])
def test_passes_compose_config(tmp_path: Path, backend: str, dev: bool) -> None:
    binary = _compose()
    spec = variant(backend)
    (tmp_path / "compose.yaml").write_text(to_yaml(rendered(spec)))
    (tmp_path / "compose.dev.yaml").write_text(to_yaml(render_dev_overlay(spec, tmp_path)))
    (tmp_path / ".dockyard" / "run-secrets").mkdir(parents=True)
    (tmp_path / ".dockyard" / "run-secrets" / "api-token").write_text("x")
    files = ["-f", "compose.yaml"] + (["-f", "compose.dev.yaml"] if dev else [])
    done = subprocess.run([*binary, *files, "config", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    full = subprocess.run([*binary, *files, "config"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    config = yaml.safe_load(full)
    assert config["services"]["api"]["image"] == f"{spec.project.name}:0.1.0"
