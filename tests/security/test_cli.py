"""The CLI's side: keys passed by `dockyard jobs`, serve refusing exposure, `up`'s own secrets."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.deploy.auth import REDIS_ACL, REDIS_PASSWORD
from dockyard.deploy.compose import render_compose, to_yaml
from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.deploy.kubernetes import to_yaml as to_k8s_yaml
from dockyard.deploy.stack_secrets import CLIENT_KEY, stage_generated
from dockyard.errors import JobError, SpecError
from dockyard.spec import load_spec
from tests.conftest import Server
from tests.fixtures.projects import make_project
from tests.security.conftest import Keys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stack" / "redis"


@pytest.mark.slow  # over a second: waits out a timeout or a refresh, or runs a tool
def test_jobs_commands_send_the_key_from_the_flag_or_the_environment(
    service: Server, keys: Keys
) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["jobs", "submit", '"x"', "--url", service.url])
    assert isinstance(refused.exception, JobError) and str(refused.exception).startswith("401")
    flag = runner.invoke(
        app, ["jobs", "submit", '"x"', "--url", service.url, "--api-key", keys.alice]
    )
    assert flag.exit_code == 0, flag.output
    job = json.loads(flag.output)
    assert job["owner"] == "alice"
    env = runner.invoke(
        app,
        ["jobs", "status", job["id"], "--url", service.url],
        env={"DOCKYARD_API_KEY": keys.alice},
    )
    assert env.exit_code == 0 and json.loads(env.output)["id"] == job["id"]
    other = runner.invoke(
        app, ["jobs", "status", job["id"], "--url", service.url, "--api-key", keys.bob]
    )
    assert isinstance(other.exception, JobError) and str(other.exception).startswith("404")


def test_serve_refuses_to_publish_beyond_loopback_without_keys(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "echo")
    result = CliRunner().invoke(app, ["serve", str(root), "--host", "0.0.0.0", "--port", "1"])
    assert isinstance(result.exception, SpecError) and result.exception.exit_code == 2
    message = str(result.exception)
    assert "auth.enabled" in message and "allow_public_without_auth" in message


@pytest.fixture
def exposed(tmp_path: Path) -> Path:
    """The Redis stack example, published on every interface."""
    root = tmp_path / "stack"
    shutil.copytree(EXAMPLE, root)
    toml = root / "dockyard.toml"
    text = toml.read_text().replace('bind = "127.0.0.1"', 'bind = "0.0.0.0"', 1)
    # an image name without the "redis" prefix: Redis is told apart by what it runs
    toml.write_text(text.replace('"redis:7.4.2-alpine"', '"local/kv:7"'))
    return root


def test_up_generates_keys_and_a_redis_login_that_no_rendered_file_holds(exposed: Path) -> None:
    spec = load_spec(exposed)
    notes = stage_generated(spec, exposed, "img", {})
    compose = to_yaml(render_compose(spec, exposed))
    local = exposed / ".dockyard" / "secrets"
    run = exposed / ".dockyard" / "run-secrets"
    key = (local / CLIENT_KEY).read_text().strip()
    password = (local / REDIS_PASSWORD).read_text().strip()
    assert len(key) > 40 and len(password) > 40
    assert notes == [f"API keys are on; an admin key was written to .dockyard/secrets/{CLIENT_KEY}"]
    assert f"{key} operator admin" in (run / "dockyard_api_keys").read_text()
    assert (run / REDIS_PASSWORD).read_text() == password
    assert password not in (run / REDIS_ACL).read_text()  # only its SHA-256
    for path in (local / CLIENT_KEY, local / REDIS_PASSWORD):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((run / REDIS_ACL).stat().st_mode) == 0o400
    assert key not in compose and password not in compose
    services = render_compose(spec, exposed)["services"]
    for name in ("api", "worker"):
        assert "dockyard_api_keys" in services[name]["secrets"]
        env = services[name]["environment"]
        assert env["DOCKYARD_AUTH_KEYS_FILE"] == "/run/secrets/dockyard_api_keys"
        assert env["DOCKYARD_REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"
    redis = services["redis"]
    assert redis["secrets"] == [REDIS_ACL] and "DOCKYARD_AUTH_KEYS_FILE" not in redis.get(
        "environment", {}
    )
    # a second `up` keeps the same values, so running and new containers agree
    stage_generated(spec, exposed, "img", {})
    assert (local / CLIENT_KEY).read_text().strip() == key


def test_on_loopback_the_stack_stays_open_unless_the_spec_asks(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    shutil.copytree(EXAMPLE, root)
    spec = load_spec(root)
    assert stage_generated(spec, root, "img", {}) == []
    assert (
        "DOCKYARD_AUTH_KEYS_FILE"
        not in render_compose(spec, root)["services"]["api"]["environment"]
    )


def test_kubernetes_pods_read_keys_from_a_secret_the_cli_prepares(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    shutil.copytree(EXAMPLE, root)
    out = tmp_path / "k8s.yaml"
    result = CliRunner().invoke(app, ["k8s", str(root), "--flat", "--out", str(out)])
    assert result.exit_code == 0, result.output
    key = (root / ".dockyard" / "secrets" / CLIENT_KEY).read_text().strip()
    assert "kubectl create secret generic digits-stack-redis-api-keys" in result.output
    assert key not in out.read_text() and key not in result.output
    pods = [
        m["spec"]["template"]["spec"] for m in render_kubernetes(load_spec(root), "img")
        if m["kind"] == "Deployment"
    ]  # fmt: skip
    assert len(pods) == 2
    for pod in pods:
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        assert env["DOCKYARD_AUTH_KEYS_FILE"] == "/run/dockyard-keys/dockyard_api_keys"
        volume = next(v for v in pod["volumes"] if v["name"] == "api-keys")
        assert volume["secret"]["secretName"] == "digits-stack-redis-api-keys"
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text() + "\n[auth]\nallow_public_without_auth = true\n")
    opted_out = to_k8s_yaml(render_kubernetes(load_spec(root), "img"))
    assert "DOCKYARD_AUTH_KEYS_FILE" not in opted_out


def test_the_gate_brings_its_own_key_for_a_spec_with_auth(
    tmp_path: Path, serve: type[Server]
) -> None:
    import urllib.error

    from dockyard.cli.build import _gate_key
    from dockyard.image.probe import predict

    root = make_project(tmp_path / "p", "echo", auth={"enabled": True})
    values: dict[str, bytes] = {}
    headers = _gate_key(load_spec(root), values, None)
    keys = tmp_path / "keys"
    keys.write_bytes(values["dockyard_api_keys"])
    server = serve(root, env={"DOCKYARD_AUTH_KEYS_FILE": str(keys)})
    server.wait("/readyz", timeout=60)
    assert predict(server.url, ["a"], headers) == ["a"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        predict(server.url, ["a"])
    assert refused.value.code == 401
    given = _gate_key(load_spec(root), {}, "dk_given_key_0123456789")
    assert given == {"Authorization": "Bearer dk_given_key_0123456789"}
    assert _gate_key(load_spec(make_project(tmp_path / "q", "echo")), {}, None) == {}
