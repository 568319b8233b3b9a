"""Prometheus scrapes with a key of its own: `dockyard k8s` adds one (scope `metrics` only) to
the keys file, the monitors send it from a Secret, and the runtime lets it read /metrics and
nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from dockyard.cli.main import app as cli
from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.spec import load_spec
from tests.deploy.kube import IMAGE, by_key
from tests.fixtures.projects import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    worker = {"enabled": True, "backend": "sqlite"}
    return make_project(
        tmp_path / "p", "echo", auth={"enabled": True}, kubernetes={"service_monitor": True},
        worker=worker,
    )  # fmt: skip


def test_monitors_send_the_metrics_key_from_its_secret(project: Path) -> None:
    objects = by_key(render_kubernetes(load_spec(project), IMAGE))
    bearer = {"type": "Bearer", "credentials": {"name": "echo-metrics-key", "key": "token"}}
    [endpoint] = objects["ServiceMonitor", "echo-api"]["spec"]["endpoints"]
    assert endpoint["authorization"] == bearer
    [pod_endpoint] = objects["PodMonitor", "echo-worker"]["spec"]["podMetricsEndpoints"]
    assert pod_endpoint["authorization"] == bearer


def test_the_metrics_key_reads_metrics_and_nothing_else(
    project: Path, app: Callable[..., TestClient]
) -> None:
    said = CliRunner().invoke(cli, ["k8s", str(project), "--flat"])
    assert said.exit_code == 0, said.output
    key = (project / ".dockyard" / "secrets" / "metrics_key").read_text().strip()
    assert key not in said.output
    assert "kubectl create secret generic echo-metrics-key --from-file=token=" in said.output
    again = CliRunner().invoke(cli, ["k8s", str(project), "--flat"])
    assert again.exit_code == 0
    keys = (project / ".dockyard" / "secrets" / "dockyard_api_keys").read_text()
    assert keys.count(key) == 1, "added once"
    client = app(project, ready=True)
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer).status_code == 200
    assert client.post("/predict", json={"input": 1}, headers=bearer).status_code == 403
