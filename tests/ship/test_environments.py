"""Environments: overlays validated where written; rendered stacks differ only where declared."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dockyard.deploy.compose import to_yaml
from dockyard.deploy.environment import Placement, declare_differences, front_files, render
from dockyard.doctor.checker import check_compose_files
from dockyard.doctor.parse.compose import parse_compose
from dockyard.errors import SpecError
from dockyard.spec import load_spec

FIXTURE = Path(__file__).parents[1] / "image" / "fixtures" / "linear"
DIGEST = "reg.example/ns/linear@sha256:" + "a" * 64
OVERLAYS = """
[environments.staging]
stack = { api_port = 8100 }

[environments.prod]
stack = { api_port = 8200, api_replicas = 2 }
resources = { memory = "1g" }
env = { LOG_FORMAT = "json", MODEL_VARIANT = "large" }
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "linear"
    shutil.copytree(FIXTURE, root)
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(OVERLAYS)
    return root


def _stack(root: Path, env: str, digest: str = DIGEST) -> str:
    spec = load_spec(root, environment=env)
    placement = Placement(env, {"blue": digest}, "blue", digest, root / "front")
    text = to_yaml(render(spec, root, placement, {"api_token": Path("/run/s/api_token")}))
    return declare_differences(text, spec, env)


def _parity(root: Path, staging: str, prod: str) -> list[str]:
    files = [
        parse_compose(staging, "staging/compose.yaml"),
        parse_compose(prod, "prod/compose.yaml"),
    ]
    return [f"{f.rule} {f.message}" for f in check_compose_files(files) if f.rule.startswith("DY7")]


def test_an_environment_is_the_shared_spec_with_its_overlay(project: Path) -> None:
    prod = load_spec(project, environment="prod")
    staging = load_spec(project, environment="staging")
    assert (prod.stack.api_port, prod.stack.api_replicas, prod.resources.memory) == (
        8200,
        2,
        1024**3,
    )
    assert prod.env["MODEL_VARIANT"] == "large" and "MODEL_VARIANT" not in staging.env
    assert prod.model == staging.model and prod.artifacts == staging.artifacts


def test_overlay_errors_name_the_key_as_written(project: Path) -> None:
    text = (project / "dockyard.toml").read_text()
    (project / "dockyard.toml").write_text(text.replace("api_port = 8200", 'api_port = "high"'))
    with pytest.raises(SpecError) as caught:
        load_spec(project)
    assert [p.key for p in caught.value.problems] == ["environments.prod.stack.api_port"]
    (project / "dockyard.toml").write_text(text)
    with pytest.raises(SpecError, match="one of: prod, staging"):
        load_spec(project, environment="qa")


def test_only_declared_differences_differ(project: Path) -> None:
    staging, prod = _stack(project, "staging"), _stack(project, "prod", DIGEST.replace("a", "b"))
    assert _parity(project, staging, prod) == []
    # A difference nobody declared (a model pinned by hand in prod's stack) is reported.
    edited = re.sub(
        r"(      LOG_FORMAT: json[^\n]*\n)", r"\1      MODEL_ID: other\n", prod, count=1
    )
    assert edited != prod
    assert any("MODEL_ID" in f for f in _parity(project, staging, edited))


def test_the_front_carries_no_model_settings_and_names_both_slots(project: Path) -> None:
    prod = load_spec(project, environment="prod")
    doc = render(prod, project, Placement("prod", {"blue": DIGEST}, "blue", DIGEST, project / "f"))
    assert set(doc["services"]["front"]["environment"]) <= {"DOCKYARD_HOST", "DOCKYARD_PORT"}
    assert "ports" not in doc["services"]["blue"]
    assert doc["services"]["front"]["ports"][0]["published"] == "8200"
    files = front_files(prod, {"blue": 100.0, "green": 0.0})
    assert (
        'url = "http://green:8000"' in files["dockyard.toml"]
        and "retry = true" in files["dockyard.toml"]
    )


AUTH = """
[environments.staging]
stack = { api_port = 8100 }

[environments.prod]
stack = { api_port = 8200 }
auth = { enabled = true, rps = 5 }
"""


def test_keys_required_in_one_environment_only_is_a_declared_difference(tmp_path: Path) -> None:
    root = tmp_path / "linear"
    shutil.copytree(FIXTURE, root)
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(AUTH)
    prod, staging = load_spec(root, environment="prod"), load_spec(root, environment="staging")
    assert (prod.auth.enabled, prod.auth.rps) == (True, 5.0)
    assert (staging.auth.enabled, staging.auth.rps) == (False, 0.0)
    with_keys, without = _stack(root, "prod"), _stack(root, "staging")
    assert "DOCKYARD_AUTH_KEYS_FILE" in with_keys and "DOCKYARD_AUTH_KEYS_FILE" not in without
    assert _parity(root, without, with_keys) == []
    # The front checks the keys itself, so it mounts the keys file it is pointed at.
    digest = DIGEST
    doc = render(prod, root, Placement("prod", {"blue": digest}, "blue", digest, root / "f"))
    front = doc["services"]["front"]
    assert front["environment"]["DOCKYARD_AUTH_KEYS_FILE"] == "/run/secrets/dockyard_api_keys"
    assert front["secrets"] == ["dockyard_api_keys"]
    staged = render(
        staging, root, Placement("staging", {"blue": digest}, "blue", digest, root / "f")
    )
    assert "secrets" not in staged["services"]["front"]


def test_an_auth_overlay_is_validated_where_written(tmp_path: Path) -> None:
    root = tmp_path / "linear"
    shutil.copytree(FIXTURE, root)
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(AUTH.replace("rps = 5", "rps = -1"))
    with pytest.raises(SpecError) as caught:
        load_spec(root)
    assert [p.key for p in caught.value.problems] == ["environments.prod.auth.rps"]


def test_deploy_stages_the_keys_of_the_environment_that_requires_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dockyard.cli.release import _target

    root = tmp_path / "linear"
    shutil.copytree(FIXTURE, root)
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(AUTH)
    own = root / ".dockyard" / "secrets" / "prod" / "dockyard_api_keys"
    own.parent.mkdir(parents=True)
    own.write_text("dk_prod-only-key operator admin\n")
    monkeypatch.setenv("DOCKYARD_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("DOCKYARD_SECRET_API_TOKEN", "t")
    prod = _target(load_spec(root, environment="prod"), root, "prod", None)
    staged = (prod.secrets or {})["dockyard_api_keys"]
    assert staged.read_text() == own.read_text() and staged.stat().st_mode & 0o077 == 0
    placement = Placement("prod", {"blue": DIGEST}, "blue", DIGEST, root / "f")
    doc = render(prod.spec, root, placement, prod.secrets)
    assert doc["secrets"]["dockyard_api_keys"] == {"file": str(staged)}  # not a relative path
    staging = _target(load_spec(root, environment="staging"), root, "staging", None)
    assert set(staging.secrets or {}) == {"api_token"}
