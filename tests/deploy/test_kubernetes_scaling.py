"""Each service its own Deployment, scaled on its own: replicas, resources, rollouts that do not
stall on one GPU, autoscaling on the metrics the runtime really exports, Redis in or out."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.deploy.kubernetes import Manifest, render_kubernetes
from dockyard.runtime.metrics import Metrics
from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.worker.metrics import WorkerMetrics
from dockyard.spec import load_spec
from tests.deploy.kube import IMAGE, REPO, by_key, everything_on, staged_project


def _render(
    root: Path, load_s: float | None = None, all_on: bool = False
) -> dict[tuple[str, str], Manifest]:
    spec = load_spec(root)
    return by_key(render_kubernetes(everything_on(spec) if all_on else spec, IMAGE, root, load_s))


def _container(deployment: Manifest) -> Manifest:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _exported(*registries: object) -> set[str]:
    names = set()
    for registry in registries:
        for family in registry.collect():  # type: ignore[attr-defined]
            names.add(family.name)
    return names


def test_gpu_services_roll_one_pod_at_a_time_without_surge(tmp_path: Path) -> None:
    objects = _render(staged_project(tmp_path, resources={"gpus": 1, "shm": "2g"}))
    for role in ("api", "worker"):
        deployment = objects["Deployment", f"echo-{role}"]
        assert deployment["spec"]["strategy"]["rollingUpdate"] == {
            "maxSurge": 0,
            "maxUnavailable": 1,
        }
        pod = deployment["spec"]["template"]["spec"]
        resources = _container(deployment)["resources"]
        assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == 1
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
            "tolerations"
        ]
        shm = next(v for v in pod["volumes"] if v["name"] == "shm")
        assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
        assert {"name": "shm", "mountPath": "/dev/shm"} in _container(deployment)["volumeMounts"]


def test_cpu_services_surge_and_never_drop_below_their_replicas(tmp_path: Path) -> None:
    api = _render(staged_project(tmp_path))["Deployment", "echo-api"]
    assert api["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert "nodeSelector" not in api["spec"]["template"]["spec"]


def test_pods_spread_over_nodes_and_zones_with_a_priority_class(tmp_path: Path) -> None:
    objects = _render(staged_project(tmp_path), all_on=True)
    pod = objects["Deployment", "echo-worker"]["spec"]["template"]["spec"]
    keys = [c["topologyKey"] for c in pod["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    selector = pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "worker"
    assert pod["priorityClassName"] == "inference"


def test_pipeline_stages_are_deployments_with_their_own_replicas_and_resources() -> None:
    root = REPO / "examples" / "pipeline"
    objects = _render(root)
    stages = {name: m for (kind, name), m in objects.items()
              if kind == "Deployment" and "-stage-" in name}  # fmt: skip
    assert sorted(stages) == [
        "textpipe-stage-classify",
        "textpipe-stage-clean",
        "textpipe-stage-features",
    ]
    assert stages["textpipe-stage-classify"]["spec"]["replicas"] == 2
    for name, deployment in stages.items():
        stage = name.removeprefix("textpipe-stage-")
        own = load_spec(root / "stages" / stage)
        container = _container(deployment)
        assert container["image"] == f"{own.project.name}:{own.project.version}"
        assert container["args"] == ["stage", stage, "/app"]
        assert container["resources"]["limits"]["memory"] == f"{own.resources.memory // 2**20}Mi"
    front = _container(objects["Deployment", "textpipe-pipeline"])
    assert front["ports"] == [{"name": "http", "containerPort": 8001}]  # pipeline.port
    assert ("Service", "textpipe-pipeline") in objects


def test_router_versions_are_deployments_the_router_reaches_by_service() -> None:
    objects = _render(REPO / "examples" / "router")
    router = _container(objects["Deployment", "digits-router-api"])
    assert router["command"] == ["/opt/venv/bin/python", "-m", "dockyard.runtime.router"]
    env = {e["name"]: e["value"] for e in router["env"]}
    for version in ("v1", "v2"):
        service = objects["Service", f"digits-router-model-{version}"]
        port = service["spec"]["ports"][0]["port"]
        assert (
            env[f"DOCKYARD_VERSION_URL_{version.upper()}"]
            == f"http://digits-router-model-{version}:{port}"
        )
        assert ("Deployment", f"digits-router-model-{version}") in objects


def test_redis_is_a_statefulset_with_a_volume_unless_external(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    objects = _render(root)
    redis = objects["StatefulSet", "echo-redis"]
    [claim] = redis["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert objects["Service", "redis"]["spec"]["ports"][0]["port"] == 6379  # redis://redis:6379
    toml = root / "dockyard.toml"
    toml.write_text(
        toml.read_text().replace("redis://redis:6379/0", "redis://cache.example:6379/0")
    )
    external = _render(root)
    assert not any(kind == "StatefulSet" or name == "redis" for kind, name in external)


def test_startup_probes_are_sized_from_the_measured_load_time(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    default = _container(_render(root)["Deployment", "echo-api"])["startupProbe"]
    assert default["periodSeconds"] * default["failureThreshold"] == 600  # kubernetes.startup_s
    measured = _container(_render(root, load_s=42.0)["Deployment", "echo-api"])["startupProbe"]
    assert measured["failureThreshold"] == 26  # 42 s x 3 margin / 5 s, rounded up
    assert measured["httpGet"] == {"path": "/healthz", "port": "http"}


def test_the_api_autoscales_on_cpu_and_its_own_inflight_gauge(tmp_path: Path) -> None:
    objects = _render(staged_project(tmp_path), all_on=True)
    hpa = objects["HorizontalPodAutoscaler", "echo-api"]
    # the autoscaler owns the count: an applied `replicas` would reset it
    assert "replicas" not in objects["Deployment", "echo-api"]["spec"]
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "echo-api",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 10)
    prod = load_spec(tmp_path / "staged", environment="prod")
    prod_hpa = by_key(render_kubernetes(everything_on(prod), IMAGE))[
        "HorizontalPodAutoscaler", "echo-api"
    ]
    assert prod_hpa["spec"]["minReplicas"] == 3  # the environment's replicas are the floor
    cpu, pods = spec["metrics"]
    assert cpu["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    assert pods["pods"]["metric"]["name"] in _exported(Metrics("m").registry)
    assert pods["pods"]["target"] == {"type": "AverageValue", "averageValue": "4"}


def test_keda_scales_consumers_on_queue_metrics_the_runtime_exports(tmp_path: Path) -> None:
    pipeline_metrics = PipelineMetrics()
    pipeline_metrics.watch(lambda: [])  # as the front and each stage do
    exported = _exported(WorkerMetrics().registry, pipeline_metrics.registry)
    worker = _render(staged_project(tmp_path), all_on=True)["ScaledObject", "echo-worker"]
    pipeline = _render(REPO / "examples" / "pipeline", all_on=True)
    stage = pipeline["ScaledObject", "textpipe-stage-classify"]
    for scaled in (worker, stage):
        [trigger] = scaled["spec"]["triggers"]
        metric = re.match(r"max\((\w+)\{", trigger["metadata"]["query"])
        assert metric and metric.group(1) in exported, trigger
    # the front reports every stage's queue and the API the jobs queue: both may go to zero
    assert stage["spec"]["minReplicaCount"] == 0
    assert worker["spec"]["minReplicaCount"] == 0
    assert "(api|worker)" in worker["spec"]["triggers"][0]["metadata"]["query"]
    assert stage["spec"]["maxReplicaCount"] == 10
    assert 'stage="classify"' in stage["spec"]["triggers"][0]["metadata"]["query"]


def test_network_policies_mirror_the_compose_networks(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    objects = _render(root)
    deny = objects["NetworkPolicy", "echo-default-net"]["spec"]
    assert deny == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "echo"}},
        "policyTypes": ["Ingress"],
    }
    redis = objects["NetworkPolicy", "echo-redis-net"]["spec"]["ingress"]
    project = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "echo"}}}
    assert redis == [{"from": [project], "ports": [{"protocol": "TCP", "port": 6379}]}]
    internal = objects["NetworkPolicy", "echo-internal-net"]["spec"]
    assert internal["policyTypes"] == ["Egress"]
    assert internal["podSelector"]["matchExpressions"][0]["values"] == ["worker"]
    toml = root / "dockyard.toml"
    toml.write_text(toml.read_text() + "\n[stack]\nworker_egress = true\n")
    assert ("NetworkPolicy", "echo-internal-net") not in _render(root)


def test_disruption_budgets_for_services_with_more_than_one_pod(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    shutil.copytree(REPO / "examples" / "stack" / "redis", root)
    objects = _render(root)
    assert (
        objects["PodDisruptionBudget", "digits-stack-redis-worker"]["spec"]["maxUnavailable"] == 1
    )
    assert ("PodDisruptionBudget", "digits-stack-redis-api") not in objects  # one API pod
    assert ("PodDisruptionBudget", "digits-stack-redis-api") in _render(root, all_on=True)


def test_monitors_scrape_services_and_consumer_pods(tmp_path: Path) -> None:
    objects = _render(staged_project(tmp_path), all_on=True)
    assert objects["ServiceMonitor", "echo-api"]["spec"]["endpoints"][0]["port"] == "http"
    assert (
        objects["PodMonitor", "echo-worker"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    )
    assert not any(kind.endswith("Monitor") for kind, _ in _render(staged_project(tmp_path / "b")))


def test_the_stacks_redis_admits_only_the_queues_acl_user(tmp_path: Path) -> None:
    objects = _render(staged_project(tmp_path))
    redis = objects["StatefulSet", "echo-redis"]["spec"]["template"]["spec"]
    [server] = redis["containers"]
    assert server["args"][server["args"].index("--aclfile") + 1] == "/run/dockyard-redis/redis_acl"
    assert redis["volumes"][0]["secret"]["items"] == [{"key": "redis_acl", "path": "redis_acl"}]
    assert "health" in server["readinessProbe"]["exec"]["command"]
    for role in ("api", "worker"):
        pod = objects["Deployment", f"echo-{role}"]["spec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
        assert env["DOCKYARD_REDIS_PASSWORD_FILE"] == "/run/dockyard-redis/redis_password"
        assert env["DOCKYARD_REDIS_USER"] == "dockyard"
        volume = next(v for v in pod["volumes"] if v["name"] == "redis-login")
        assert volume["secret"]["items"] == [{"key": "redis_password", "path": "redis_password"}]


def test_the_cli_makes_the_redis_login_and_never_prints_it(tmp_path: Path) -> None:
    root = staged_project(tmp_path)
    result = CliRunner().invoke(app, ["k8s", str(root), "--flat"])
    assert result.exit_code == 0, result.output
    password = (root / ".dockyard" / "secrets" / "redis_password").read_text().strip()
    acl = (root / ".dockyard" / "secrets" / "redis_acl").read_text()
    assert f"#{hashlib.sha256(password.encode()).hexdigest()}" in acl
    assert password not in result.output and password not in acl
    assert "kubectl create secret generic echo-redis --from-file=redis_password=" in result.output
    again = CliRunner().invoke(app, ["k8s", str(root), "--flat"])
    assert (root / ".dockyard" / "secrets" / "redis_password").read_text().strip() == password
    assert again.exit_code == 0
