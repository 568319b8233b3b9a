"""The Swarm stack file rendered from the example spec: what Swarm gets, without an engine.

`docker stack config` (the docker CLI's own loader, no daemon needed) reads each rendered file,
so a key Swarm does not know fails here and not at a user's `docker stack deploy`.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.deploy.compose import to_yaml
from dockyard.deploy.swarm import HEADER, Staged, Target, render_swarm
from dockyard.deploy.swarm.engine import (
    deploy_args,
    manager_problem,
    parse_services,
    running_images,
    scale_args,
)
from dockyard.errors import SpecError
from dockyard.spec import Spec

EXAMPLE = Path(__file__).parents[2] / "examples" / "stack" / "redis"
SECRETS = ("api-token", "dockyard_api_keys", "redis_acl", "redis_password")


def _spec(**tables: dict[str, Any]) -> Spec:
    raw = tomllib.loads((EXAMPLE / "dockyard.toml").read_text())
    raw["artifacts"][0]["mode"] = "baked"  # a volume lives on one node: refused on Swarm
    for table, values in tables.items():
        raw[table] = {**raw.get(table, {}), **values}
    return Spec.model_validate(raw)


def _render(spec: Spec, tmp: Path) -> dict[str, Any]:
    staged = {}
    for name in (*SECRETS, "front_spec", "front_stub"):
        (tmp / name).write_text(f"{name}\n")
        staged[name] = Staged(tmp / name, "0123456789ab" + "0" * 52)
    target = Target("digits", "reg/digits@sha256:" + "1" * 64, "reg/digits@sha256:" + "0" * 64,
                    staged, staged)  # fmt: skip
    return render_swarm(spec, EXAMPLE, target)


def test_defaults_are_swarms_own_routing_mesh_and_virtual_ips(tmp_path: Path) -> None:
    doc = _render(_spec(), tmp_path)
    services = doc["services"]
    assert services["front"]["ports"] == [
        {"target": 8000, "published": 8000, "protocol": "tcp", "mode": "ingress"}
    ]
    assert services["front"]["deploy"]["replicas"] == 1
    assert {s["deploy"]["endpoint_mode"] for s in services.values()} == {"vip"}


def test_only_the_front_publishes_and_the_api_rolls_start_first_with_rollback(
    tmp_path: Path,
) -> None:
    spec = _spec(swarm={"publish_mode": "host", "endpoint_mode": "dnsrr", "monitor_s": 7})
    services = _render(spec, tmp_path)["services"]
    assert [n for n, s in services.items() if "ports" in s] == ["front"]
    assert services["front"]["ports"][0]["mode"] == "host"
    assert services["front"]["deploy"]["mode"] == "global"  # one per node, each on its port
    assert services["front"]["image"].endswith("0" * 64)  # kept: a model update leaves it alone
    api = services["api"]
    assert api["image"].endswith("1" * 64)
    assert api["deploy"]["replicas"] == 1 and services["worker"]["deploy"]["replicas"] == 2
    assert api["deploy"]["update_config"] == {
        "parallelism": 1, "delay": "2s", "order": "start-first", "failure_action": "rollback",
        "monitor": "7s", "max_failure_ratio": 0.0,
    }  # fmt: skip
    assert api["deploy"]["rollback_config"]["order"] == "start-first"
    assert api["deploy"]["restart_policy"] == {"condition": "any", "delay": "5s"}
    assert api["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "384m"}
    # one Redis on one volume: the old task stops before the new one starts
    assert services["redis"]["deploy"]["update_config"]["order"] == "stop-first"
    assert services["front"]["deploy"]["update_config"]["order"] == "stop-first"


def test_networks_are_overlays_and_the_back_end_is_internal(tmp_path: Path) -> None:
    doc = _render(_spec(), tmp_path)
    assert doc["networks"] == {
        "front": {"driver": "overlay"},
        "back": {"driver": "overlay", "internal": True},
    }
    services = doc["services"]
    assert services["redis"]["networks"] == ["back"]
    assert services["worker"]["networks"] == ["back"]
    assert services["front"]["networks"] == ["front"]


def test_secrets_are_files_owned_by_the_reader_and_named_by_content(tmp_path: Path) -> None:
    doc = _render(_spec(), tmp_path)
    services = doc["services"]
    assert doc["secrets"]["redis_acl"] == {
        "file": str(tmp_path / "redis_acl"),
        "name": "digits_redis_acl_0123456789ab",
    }
    acl = services["redis"]["secrets"]
    assert acl == [{"source": "redis_acl", "target": "redis_acl", "uid": "999", "gid": "999",
                    "mode": 0o400}]  # fmt: skip
    api = services["api"]
    assert {s["source"] for s in api["secrets"]} == {"api-token", "redis_password"}
    assert {s["uid"] for s in api["secrets"]} == {"10001"}
    # keys are checked at the front: published on every interface of a node
    front = services["front"]
    assert [s["source"] for s in front["secrets"]] == ["dockyard_api_keys"]
    assert front["environment"]["DOCKYARD_AUTH_KEYS_FILE"] == "/run/secrets/dockyard_api_keys"
    assert not any("PASSWORD" in k and "FILE" not in k for k in api["environment"])
    assert [c["target"] for c in front["configs"]] == [
        "/etc/dockyard/front/dockyard.toml",
        "/etc/dockyard/front/front.py",
    ]


def test_gpu_services_reserve_the_generic_resource_and_go_to_gpu_nodes(tmp_path: Path) -> None:
    spec = _spec(resources={"gpus": 2}, swarm={"constraints": ["node.labels.zone==a"]})
    services = _render(spec, tmp_path)["services"]
    for name in ("api", "worker"):
        deploy = services[name]["deploy"]
        assert deploy["resources"]["reservations"]["generic_resources"] == [
            {"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 2}}
        ]
        assert deploy["placement"]["constraints"] == [
            "node.labels.zone==a",
            "node.labels.gpu==true",
        ]
    assert "placement" not in services["front"]["deploy"]
    assert services["redis"]["deploy"]["placement"]["constraints"] == ["node.labels.zone==a"]


def test_what_cannot_span_nodes_is_a_spec_error(tmp_path: Path) -> None:
    raw = tomllib.loads((EXAMPLE / "dockyard.toml").read_text())
    raw["worker"]["backend"] = "sqlite"
    with pytest.raises(SpecError) as caught:
        _render(Spec.model_validate(raw), tmp_path)
    keys = [p.key for p in caught.value.problems]
    assert keys == ["worker.backend", "artifacts.weights.mode"]


@pytest.mark.skipif(not shutil.which("docker"), reason="needs the docker CLI")
@pytest.mark.parametrize("mode", ["ingress", "host"])
def test_the_docker_cli_loads_the_stack_file(tmp_path: Path, mode: str) -> None:
    spec = _spec(resources={"gpus": 1}, swarm={"publish_mode": mode})
    path = tmp_path / "stack.yaml"
    path.write_text(to_yaml(_render(spec, tmp_path), HEADER))
    done = subprocess.run(["docker", "stack", "config", "--compose-file", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Ignoring unsupported options" not in done.stderr
    loaded = yaml.safe_load(done.stdout)
    api = loaded["services"]["api"]
    assert api["deploy"]["update_config"]["order"] == "start-first"
    assert api["deploy"]["endpoint_mode"] == "vip"
    assert loaded["services"]["front"]["ports"][0]["mode"] == mode


def test_settled_counts_only_tasks_on_the_current_image() -> None:
    inspected = [
        {"Spec": {"Name": "s_api", "Mode": {"Replicated": {"Replicas": 2}},
                  "TaskTemplate": {"ContainerSpec": {"Image": "new"}}},
         "UpdateStatus": {"State": "completed"}},
        {"Spec": {"Name": "s_front", "Mode": {"Global": {}},
                  "TaskTemplate": {"ContainerSpec": {"Image": "old"}}}},
    ]  # fmt: skip
    rows = "\n".join([
        "s_api.1 new Running 3 seconds ago",
        "s_api.2 old Running 1 minute ago",
        "s_front.nodeid old Running 1 minute ago",
        "s_api.3 new Starting 1 second ago",
    ])  # fmt: skip
    api, front = parse_services(inspected, running_images(rows))
    assert (api.running, api.settled) == (1, False)
    assert (front.desired, front.running, front.settled) == (None, 1, True)


@pytest.mark.parametrize(
    ("info", "said"),
    [
        ("inactive false", "not in a swarm (inactive)"),
        ("active false", "a swarm worker"),
        ("", "not in a swarm (unknown)"),
    ],
)
def test_an_engine_that_is_no_manager_is_refused_with_how_to_init(info: str, said: str) -> None:
    problem = manager_problem(info)
    assert problem is not None and said in problem
    assert "docker swarm init --advertise-addr 127.0.0.1" in problem
    assert manager_problem("active true\n") is None


def test_deploy_and_scale_arguments() -> None:
    assert deploy_args(Path("/s/stack.yaml"), "digits-prod") == [
        "stack", "deploy", "--compose-file", "/s/stack.yaml", "--resolve-image", "never",
        "--prune", "--detach=true", "digits-prod",
    ]  # fmt: skip
    assert scale_args("d", {"worker": 3, "api": 2}) == [
        "service",
        "scale",
        "--detach",
        "d_api=2",
        "d_worker=3",
    ]
