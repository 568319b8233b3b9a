"""The probes in the manifests are routes the runtime really serves: asked in-process, the
API's readiness, liveness and startup paths answer 200 once the model is loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.spec import load_spec
from tests.deploy.kube import IMAGE, by_key
from tests.fixtures.projects import make_project


def test_the_api_probes_hit_routes_the_runtime_serves(
    tmp_path: Path, app: Callable[..., TestClient]
) -> None:
    root = make_project(tmp_path / "p", "echo")
    spec = load_spec(root)
    deployment = by_key(render_kubernetes(spec, IMAGE))["Deployment", "echo-api"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": spec.serving.port}]
    client = app(root, ready=True)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == "http"
        assert client.get(get["path"]).status_code == 200, probe
    assert client.get("/no-such-probe").status_code == 404  # the check can fail


def test_probes_speak_https_when_the_service_does(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", "echo", auth={"tls_cert_secret": "tls-cert", "tls_key_secret": "tls-key"}
    )
    toml = root / "dockyard.toml"
    toml.write_text('secrets = ["tls-cert", "tls-key"]\n' + toml.read_text())
    deployment = by_key(render_kubernetes(load_spec(root), IMAGE))["Deployment", "echo-api"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS", probe
