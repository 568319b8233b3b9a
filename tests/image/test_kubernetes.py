"""Kubernetes manifests from the spec: restricted, probed, limited, doctor-clean, golden."""

from __future__ import annotations

from pathlib import Path

import yaml

from dockyard.deploy.kubernetes import render_kubernetes, to_yaml
from dockyard.doctor.checker import check_text
from dockyard.spec import load_spec
from tests.support.golden import assert_golden

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "k8s-stack-redis.yaml"
SCHEDULES = """
[resources]
cpus = 2
memory = "4g"
gpus = 1
shm = "1g"

[[schedules]]
name = "retrain"
cron = "0 2 * * *"
command = ["python", "train.py"]
overlap = "skip"
timeout_s = 3600

[[schedules]]
name = "score"
cron = "@hourly"
command = ["python", "score.py"]
overlap = "allow"
"""


def rendered(root: Path) -> list[dict[str, object]]:
    return render_kubernetes(load_spec(root), "registry.example/digits:1")


def test_golden_manifests() -> None:
    text = to_yaml(rendered(REPO / "examples" / "stack" / "redis"))
    assert_golden(GOLDEN, text)
    assert "&id" not in text, "no YAML anchors"


def test_every_pod_is_restricted_probed_and_limited() -> None:
    for manifest in rendered(REPO / "examples" / "stack" / "redis"):
        if manifest["kind"] != "Deployment":
            continue
        pod = manifest["spec"]["template"]["spec"]  # type: ignore[index]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert {"readinessProbe", "livenessProbe", "startupProbe"} <= set(container)
        assert container["resources"]["limits"]["memory"] == "384Mi"
        assert not any("SECRET" in e["name"] for e in container["env"]), "secrets are files"


def test_schedules_become_cronjobs_with_the_overlap_policy(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "model.py").write_text("")
    (root / "dockyard.toml").write_text(
        '[project]\nname="p"\n[model]\nentrypoint="model:M"\n' + SCHEDULES
    )
    manifests = {(m["kind"], m["metadata"]["name"]): m for m in rendered(root)}  # type: ignore[index]
    retrain, score = manifests["CronJob", "p-job-retrain"], manifests["CronJob", "p-job-score"]
    assert retrain["spec"]["concurrencyPolicy"] == "Forbid"  # type: ignore[index]
    assert score["spec"]["concurrencyPolicy"] == "Allow"  # type: ignore[index]
    job = retrain["spec"]["jobTemplate"]["spec"]  # type: ignore[index]
    assert job["activeDeadlineSeconds"] == 3600 and job["backoffLimit"] == 0
    api = manifests["Deployment", "p-api"]["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert api["resources"]["limits"] == {"cpu": "2000m", "memory": "4Gi", "nvidia.com/gpu": 1}
    assert {"name": "shm", "mountPath": "/dev/shm"} in api["volumeMounts"]


def test_rendered_manifests_are_doctor_clean(tmp_path: Path) -> None:
    for root in (REPO / "examples" / "stack" / "redis", REPO / "examples" / "digits"):
        text = to_yaml(rendered(root))
        assert list(yaml.safe_load_all(text))
        serious = [f for f in check_text("k8s", text, "k8s.yaml") if f.severity != "info"]
        assert serious == [], serious
