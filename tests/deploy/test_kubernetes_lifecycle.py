"""Kubernetes: endpoints removed before SIGTERM, each role's own grace, SQLite pods co-located."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.deploy.kubernetes import render_kubernetes
from dockyard.spec import load_spec
from tests.fixtures.projects import make_project


def _pods(root: Path) -> dict[str, dict[str, Any]]:
    """Each Deployment's and CronJob's pod spec, by component."""
    pods = {}
    for m in render_kubernetes(load_spec(root), "registry.example/p:1"):
        spec = m["spec"]
        if m["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if m["kind"] in ("Deployment", "CronJob"):
            labels = spec["template"]["metadata"]["labels"]
            pods[labels["app.kubernetes.io/component"]] = spec["template"]["spec"]
    return pods


def _project(tmp: Path, backend: str) -> Path:
    root = make_project(
        tmp,
        "echo",
        serving={"graceful_timeout_s": 20},
        worker={"enabled": True, "backend": backend, "lease_s": 120, "webhook_timeout_s": 10},
    )
    with (root / "dockyard.toml").open("a") as spec:
        spec.write('\n[[schedules]]\nname = "nightly"\ncron = "0 3 * * *"\ncommand = ["true"]\n')
    return root


def test_the_api_leaves_the_endpoints_before_sigterm(tmp_path: Path) -> None:
    api = _pods(_project(tmp_path, "redis"))["api"]
    [container] = api["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop == ["/opt/venv/bin/python", "-c", "import time; time.sleep(5)"]
    # The pause, then the drain (serving.graceful_timeout_s), then a margin before SIGKILL.
    assert api["terminationGracePeriodSeconds"] == 5 + 20 + 5


def test_workers_get_their_own_grace_from_lease_and_webhooks(tmp_path: Path) -> None:
    worker = _pods(_project(tmp_path, "redis"))["worker"]
    assert worker["terminationGracePeriodSeconds"] == 120 + 10 + 5
    assert "lifecycle" not in worker["containers"][0]  # no endpoints to leave


def test_sqlite_pods_are_co_located_on_one_node(tmp_path: Path) -> None:
    pods = _pods(_project(tmp_path, "sqlite"))
    assert set(pods) == {"api", "worker", "job-nightly"}
    for pod in pods.values():
        [term] = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"] == {"dockyard.dev/jobs-volume": "echo-jobs"}
        assert pod["volumes"][-1]["persistentVolumeClaim"]["claimName"] == "echo-jobs"


def test_redis_pods_may_spread(tmp_path: Path) -> None:
    assert all("affinity" not in pod for pod in _pods(_project(tmp_path, "redis")).values())
