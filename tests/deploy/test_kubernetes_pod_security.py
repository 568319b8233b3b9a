"""The restricted Pod Security Standard, control by control, on every pod Dockyard renders
(Deployments, the Redis StatefulSet, CronJobs), plus secrets as files and a read-only root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dockyard.deploy.kubernetes import Manifest
from tests.deploy.kube import EXAMPLES, REPO, pod_specs, renderings, staged_project

# https://kubernetes.io/docs/concepts/security/pod-security-standards/ (restricted profile)
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}  # fmt: skip


def violations(pod: Manifest) -> list[str]:
    """Every restricted-profile control the pod breaks (baseline controls included)."""
    found = []
    context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(f"host namespaces: {flag}")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume types: {volume['name']} is {kinds}")
    for sysctl in context.get("sysctls", []):
        if sysctl["name"] not in SAFE_SYSCTLS:
            found.append(f"sysctls: {sysctl['name']}")
    if context.get("seLinuxOptions", {}).get("type") not in (None, "", "container_t"):
        found.append("SELinux type")
    for c in pod.get("initContainers", []) + pod["containers"]:
        found += [f"{c['name']}: {v}" for v in _container(c, context)]
    return found


def _container(c: Manifest, pod: Manifest) -> list[str]:
    own = c.get("securityContext", {})

    def setting(key: str) -> Any:
        return own[key] if key in own else pod.get(key)

    found = []
    if own.get("privileged"):
        found.append("privileged")
    if own.get("windowsOptions", {}).get("hostProcess"):
        found.append("hostProcess")
    if any(p.get("hostPort") for p in c.get("ports", [])):
        found.append("hostPort")
    if own.get("procMount", "Default") != "Default":
        found.append("procMount")
    if own.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation must be false")
    if setting("runAsNonRoot") is not True:
        found.append("runAsNonRoot must be true")
    if setting("runAsUser") == 0:
        found.append("runAsUser 0")
    if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        found.append("seccompProfile must be RuntimeDefault or Localhost")
    capabilities = own.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []):
        found.append("capabilities must drop ALL")
    if set(capabilities.get("add", [])) - {"NET_BIND_SERVICE"}:
        found.append("capabilities added")
    # beyond the profile: Dockyard's own hardening
    if own.get("readOnlyRootFilesystem") is not True:
        found.append("readOnlyRootFilesystem")
    return found


def _all_pods(manifests: list[Manifest]) -> list[tuple[str, Manifest]]:
    return [(m["metadata"]["name"], p) for m in manifests for p in pod_specs(m)]


@pytest.mark.parametrize("root", EXAMPLES, ids=lambda p: str(p.relative_to(REPO / "examples")))
def test_every_pod_of_every_example_is_restricted(root: Path) -> None:
    for env, manifests in renderings(root):
        pods = _all_pods(manifests)
        assert pods, env
        for name, pod in pods:
            assert violations(pod) == [], (env, name)


def test_every_pod_of_every_environment_is_restricted(tmp_path: Path) -> None:
    root = staged_project(tmp_path, resources={"gpus": 1, "shm": "1g"})
    kinds = set()
    for _, manifests in renderings(root):
        kinds |= {m["kind"] for m in manifests if pod_specs(m)}
        for name, pod in _all_pods(manifests):
            assert violations(pod) == [], name
    assert kinds == {"Deployment", "StatefulSet", "CronJob"}


def test_the_checker_catches_each_control() -> None:
    """Each control, broken alone on a good pod, is reported (the check can fail)."""
    pod = _all_pods(next(renderings(EXAMPLES[0]))[1])[0][1]
    assert violations(pod) == []
    c = pod["containers"][0]
    breaks = {
        "hostNetwork": {**pod, "hostNetwork": True},
        "volume types": {**pod, "volumes": [{"name": "h", "hostPath": {"path": "/"}}]},
        "privileged": {**pod, "containers": [_sc(c, privileged=True)]},
        "allowPrivilegeEscalation": {**pod, "containers": [_sc(c, allowPrivilegeEscalation=True)]},
        "runAsNonRoot": _pod_sc(pod, runAsNonRoot=False),
        "runAsUser 0": _pod_sc(pod, runAsUser=0),
        "seccompProfile": _pod_sc(pod, seccompProfile={"type": "Unconfined"}),
        "drop ALL": {**pod, "containers": [_sc(c, capabilities={"drop": ["NET_RAW"]})]},
        "capabilities added": {**pod, "containers": [_sc(c, capabilities={"drop": ["ALL"],
                                                                          "add": ["SYS_ADMIN"]})]},
        "hostPort": {**pod, "containers": [{**c, "ports": [{"containerPort": 1, "hostPort": 1}]}]},
    }  # fmt: skip
    for control, broken in breaks.items():
        assert violations(broken), control


def _pod_sc(pod: Manifest, **settings: Any) -> Manifest:
    return {**pod, "securityContext": {**pod["securityContext"], **settings}}


def _sc(container: Manifest, **settings: Any) -> Manifest:
    return {**container, "securityContext": {**container["securityContext"], **settings}}


def test_secrets_are_files_from_secret_volumes(tmp_path: Path) -> None:
    _, manifests = next(renderings(staged_project(tmp_path)))
    for name, pod in _all_pods(manifests):
        if name.endswith("-redis"):
            continue
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["secrets"]["secret"] == {"secretName": "echo-secrets", "defaultMode": 0o400}
        [container] = pod["containers"]
        mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
        assert mount == {"name": "secrets", "mountPath": "/run/secrets", "readOnly": True}
        assert not any("valueFrom" in e for e in container["env"]), "no secret in env"


def test_secrets_may_come_from_an_external_store_through_the_csi_driver(tmp_path: Path) -> None:
    root = staged_project(tmp_path, kubernetes={"secret_provider_class": "vault-echo"})
    _, manifests = next(renderings(root))
    for name, pod in _all_pods(manifests):
        if name.endswith("-redis"):
            continue
        volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
        assert volume == {
            "name": "secrets",
            "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                    "volumeAttributes": {"secretProviderClass": "vault-echo"}},
        }, name  # fmt: skip
        assert violations(pod) == [], "csi is a restricted-profile volume type"
