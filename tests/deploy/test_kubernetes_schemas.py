"""Every rendered object validates against the Kubernetes API schemas of the three newest minor
versions kubernetes-validate ships (offline, strict: unknown fields fail), and the doctor's
Kubernetes rules find nothing. CRDs (KEDA, Prometheus Operator) have no schema there: they are
checked structurally against the objects they point at.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
from kubernetes_validate import utils

from dockyard.deploy.kubernetes import Manifest, to_yaml
from dockyard.doctor.checker import check_text
from tests.deploy.kube import CRD_KINDS, EXAMPLES, REPO, by_key, renderings, staged_project


def newest_minors(count: int = 3) -> list[str]:
    minors = {tuple(int(p) for p in v.split(".")[:2]) for v in utils.all_versions()}
    return [f"{major}.{minor}.0" for major, minor in sorted(minors)[-count:]]


VERSIONS = newest_minors()


def test_three_versions_are_checked() -> None:
    minors = [int(v.split(".")[1]) for v in VERSIONS]
    assert VERSIONS[-1] == utils.latest_version()
    assert minors == [minors[-1] - 2, minors[-1] - 1, minors[-1]]


@pytest.fixture(autouse=True, scope="module")
def _schemas_read_once() -> Iterator[None]:
    """The schema files never change: read each once, not once per object (50 ms -> 7 ms).

    Nor does the list of versions, which `validate` otherwise lists and sorts on every call.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in ("schema_contents", "all_versions"):
            patch.setattr(utils, name, functools.lru_cache(maxsize=None)(getattr(utils, name)))
        yield


def _validate(manifests: list[Manifest]) -> int:
    """(object, version) pairs checked."""
    checked = 0
    for manifest in manifests:
        if manifest["kind"] in CRD_KINDS:
            continue
        for version in VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
            checked += 1
    return checked


@pytest.mark.parametrize("root", EXAMPLES, ids=lambda p: str(p.relative_to(REPO / "examples")))
def test_every_example_validates_and_is_doctor_clean(root: Path) -> None:
    for env, manifests in renderings(root):
        assert _validate(manifests) >= 3 * 4, env  # Deployment, Service, 2 NetworkPolicies
        _check_custom_resources(manifests)
        findings = check_text("k8s", to_yaml(manifests), "k8s.yaml")
        assert [f for f in findings if f.severity != "info"] == [], (env, findings)


def test_every_environment_validates_and_is_doctor_clean(tmp_path: Path) -> None:
    root = staged_project(tmp_path, resources={"gpus": 1, "shm": "1g"})
    seen = []
    for env, manifests in renderings(root):
        seen.append(env)
        assert _validate(manifests) >= 3 * 10, env
        _check_custom_resources(manifests)
        findings = check_text("k8s", to_yaml(manifests), "k8s.yaml")
        assert [f for f in findings if f.severity != "info"] == [], (env, findings)
    assert sorted(seen) == sorted(
        f"{e}{s}" for e in ("shared", "staging", "prod") for s in ("", "+all")
    )


def test_a_wrong_field_fails_validation() -> None:
    """The schemas bite: an unknown field and a wrong type are both refused."""
    manifests = next(renderings(EXAMPLES[0]))[1]
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    for broken in (
        {**deployment, "spec": {**deployment["spec"], "replica": 2}},
        {**deployment, "spec": {**deployment["spec"], "replicas": "two"}},
    ):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def _check_custom_resources(manifests: list[Manifest]) -> None:
    """KEDA and Prometheus Operator objects point at objects that exist, by name and labels."""
    objects = by_key(manifests)
    for m in manifests:
        if m["kind"] == "ScaledObject":
            assert m["apiVersion"] == "keda.sh/v1alpha1"
            spec = m["spec"]
            assert ("Deployment", spec["scaleTargetRef"]["name"]) in objects
            assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
            [trigger] = spec["triggers"]
            assert trigger["type"] == "prometheus"
            assert set(trigger["metadata"]) == {"serverAddress", "query", "threshold"}
            assert trigger["metadata"]["threshold"].isdigit()
        elif m["kind"] in ("ServiceMonitor", "PodMonitor"):
            assert m["apiVersion"] == "monitoring.coreos.com/v1"
            selector = m["spec"]["selector"]["matchLabels"]
            if m["kind"] == "ServiceMonitor":
                [target] = [o for o in manifests if o["kind"] == "Service"
                            and o["metadata"]["labels"] == selector]  # fmt: skip
                ports = {p["name"] for p in target["spec"]["ports"]}
                assert {e["port"] for e in m["spec"]["endpoints"]} <= ports
            else:
                [target] = [o for o in manifests if o["kind"] == "Deployment"
                            and o["spec"]["template"]["metadata"]["labels"].items()
                            >= selector.items()]  # fmt: skip
                [container] = target["spec"]["template"]["spec"]["containers"]
                ports = {p["name"] for p in container["ports"]}
                assert {e["port"] for e in m["spec"]["podMetricsEndpoints"]} <= ports


def test_secrets_from_an_external_store_validate(tmp_path: Path) -> None:
    root = staged_project(tmp_path, kubernetes={"secret_provider_class": "vault-echo"})
    for _, manifests in renderings(root):
        assert _validate(manifests) >= 3 * 10
