"""Pod templates: restricted security, probes, limits, volumes, GPU and spread placement.

Every pod meets the restricted Pod Security profile (non-root, RuntimeDefault seccomp, no
capabilities, no privilege escalation) and a read-only root filesystem; /tmp and /dev/shm are
size-limited emptyDirs; secrets are files from Secret volumes, never environment values.
"""

from __future__ import annotations

import math
from typing import Any

from dockyard.deploy import auth
from dockyard.deploy.kubernetes.components import PYTHON, Claim, Component
from dockyard.deploy.kubernetes.objects import Manifest, labels
from dockyard.spec import Spec
from dockyard.spec.base import format_size
from dockyard.spec.load import IN_CONTAINER_ENV
from dockyard.spec.resources import Resources

SECRETS_DIR = "/run/secrets"
REDIS_LOGIN_DIR = "/run/dockyard-redis"  # the Secret NAME-redis: password and the server's ACL
PRE_STOP_S = 5  # endpoints controllers and kube-proxy usually catch up within a few seconds
GRACE_MARGIN_S = 5
STARTUP_PERIOD_S = 5
LOAD_MARGIN = 3  # a pod on a busy node loads slower than the build's measurement
CLAIM_LABEL = "dockyard.dev/jobs-volume"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
GPU = "nvidia.com/gpu"
CSI_SECRETS = "secrets-store.csi.k8s.io"


def pod(spec: Spec, part: Component, load_s: float | None) -> Manifest:
    """The pod spec of one component."""
    container: Manifest = {
        "name": part.role,
        "image": part.image,
        **({"command": list(part.command)} if part.command else {}),
        "args": list(part.args),
        "env": env(spec, part.own, {**part.env, **_redis_env(part)}),
        "resources": resources(part.own.resources),
        "securityContext": container_security(),
        "volumeMounts": mounts(spec, part.own, part.claim) + _redis_mounts(part),
        **probes(spec, part, load_s),
    }
    if part.serves:
        container["ports"] = [{"name": "http", "containerPort": part.port}]
        # Endpoints drop a terminating pod asynchronously: pause before SIGTERM so no request
        # is sent to a pod that has begun to drain. Python is the one tool every image has.
        pause = [PYTHON, "-c", f"import time; time.sleep({PRE_STOP_S})"]
        container["lifecycle"] = {"preStop": {"exec": {"command": pause}}}
    elif part.metrics_port:
        container["ports"] = [{"name": "metrics", "containerPort": part.metrics_port}]
    drain = part.drain_s + (PRE_STOP_S if part.serves else 0)
    return {
        **common(spec, part.own, part.claim),
        "terminationGracePeriodSeconds": int(drain) + GRACE_MARGIN_S,
        **spread(spec, part.role),
        "containers": [container],
        "volumes": volumes(spec, part.own, part.claim) + _redis_volumes(spec, part),
    }


def redis_secret(spec: Spec) -> str:
    return f"{spec.project.name}-redis"


def redis_login_volume(spec: Spec, key: str) -> Manifest:
    """One file of the Secret NAME-redis (the CLI generates it, the operator creates it)."""
    items = [{"key": key, "path": key}]
    secret = {"secretName": redis_secret(spec), "items": items, "defaultMode": 0o400}
    return {"name": "redis-login", "secret": secret}


def _redis_volumes(spec: Spec, part: Component) -> list[Manifest]:
    return [redis_login_volume(spec, auth.REDIS_PASSWORD)] if part.redis_login else []


def _redis_mounts(part: Component) -> list[Manifest]:
    mount = {"name": "redis-login", "mountPath": REDIS_LOGIN_DIR, "readOnly": True}
    return [mount] if part.redis_login else []


def _redis_env(part: Component) -> dict[str, str]:
    if not part.redis_login:
        return {}
    return {
        auth.REDIS_PASSWORD_ENV: f"{REDIS_LOGIN_DIR}/{auth.REDIS_PASSWORD}",
        auth.REDIS_USER_ENV: auth.REDIS_USER,
    }


def common(spec: Spec, own: Spec, claim: Claim | None) -> Manifest:
    """What every pod shares, long-running or one-shot: security, priority, GPU and volume
    placement."""
    found: Manifest = {
        "securityContext": pod_security(own),
        "automountServiceAccountToken": False,  # the model never talks to the cluster API
    }
    if spec.kubernetes.priority_class:
        found["priorityClassName"] = spec.kubernetes.priority_class
    if own.resources.gpus:
        found["nodeSelector"] = dict(spec.kubernetes.gpu_node_selector)
        # GPU nodes are usually tainted so that only pods asking for GPUs land there
        found["tolerations"] = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    if claim is not None:
        term = {"labelSelector": {"matchLabels": claim_labels(claim)}, "topologyKey": HOSTNAME}
        required = {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
        found["affinity"] = {"podAffinity": required}
    return found


def claim_labels(claim: Claim | None) -> dict[str, str]:
    """Pods mounting a ReadWriteOnce claim carry its name, for the co-location affinity."""
    return {CLAIM_LABEL: claim.name} if claim else {}


def spread(spec: Spec, role: str) -> Manifest:
    """Replicas over nodes, then zones, so one node or zone lost leaves others serving."""
    if not spec.kubernetes.topology_spread:
        return {}
    selector = {"matchLabels": labels(spec, role)}
    return {
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": selector}
            for key in (HOSTNAME, ZONE)
        ]
    }  # fmt: skip


def env(spec: Spec, own: Spec, extra: dict[str, str]) -> list[dict[str, str]]:
    values = {**spec.env, **own.env, IN_CONTAINER_ENV: "1", **extra}
    if auth.k8s_auth_on(own):
        values[auth.KEYS_FILE_ENV] = f"{auth.K8S_KEYS_DIR}/{own.auth.keys_secret}"
    return [{"name": k, "value": v} for k, v in sorted(values.items())]


def resources(r: Resources) -> Manifest:
    limits: dict[str, Any] = {"cpu": millicores(r.cpus), "memory": quantity(r.memory)}
    requests: dict[str, Any] = {
        "cpu": millicores(r.cpus_reservation or r.cpus),
        "memory": quantity(r.memory_reservation or r.memory),
    }
    if r.gpus:
        # extended resources: the request must equal the limit (NVIDIA device plugin)
        limits[GPU] = requests[GPU] = r.gpus
    return {"requests": requests, "limits": limits}


def millicores(cpus: float) -> str:
    return f"{int(cpus * 1000)}m"


def quantity(num_bytes: int) -> str:
    """Kubernetes binary quantities: 2g -> 2Gi, 512m -> 512Mi."""
    text = format_size(num_bytes)
    units = {"g": "Gi", "m": "Mi", "k": "Ki"}
    return text[:-1] + units[text[-1]] if text[-1] in units else text[:-1]


def probes(spec: Spec, part: Component, load_s: float | None) -> Manifest:
    """The runtime's own checks: /readyz and /healthz over HTTP, else its healthcheck command.

    The startup probe holds liveness off while the model loads: the measured load time (with a
    margin) when the build measured one, else `kubernetes.startup_s`.
    """
    if part.serves:
        scheme = {"scheme": "HTTPS"} if part.own.auth.tls else {}  # kubelet skips verification
        ready: Manifest = {"httpGet": {"path": "/readyz", "port": "http", **scheme}}
        alive: Manifest = {"httpGet": {"path": "/healthz", "port": "http", **scheme}}
        ready["periodSeconds"], alive["periodSeconds"] = 5, 10
    else:
        check = {"exec": {"command": list(part.health)}}
        ready, alive = {**check, "periodSeconds": 10}, {**check, "periodSeconds": 30}
    budget = load_s * LOAD_MARGIN if load_s else spec.kubernetes.startup_s
    attempts = max(3, math.ceil(budget / STARTUP_PERIOD_S))
    startup = {**alive, "periodSeconds": STARTUP_PERIOD_S, "failureThreshold": attempts}
    return {"readinessProbe": ready, "livenessProbe": alive, "startupProbe": startup}


def pod_security(own: Spec) -> Manifest:
    uid = own.build.uid
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }


def volumes(spec: Spec, own: Spec, claim: Claim | None) -> list[Manifest]:
    found: list[Manifest] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": quantity(spec.stack.tmpfs_size)}}
    ]
    if own.resources.shm:
        shm = {"medium": "Memory", "sizeLimit": quantity(own.resources.shm)}
        found.append({"name": "shm", "emptyDir": shm})
    if any(a.mode == "volume" for a in own.artifacts):
        models = {"claimName": f"{own.project.name}-models", "readOnly": True}
        found.append({"name": "models", "persistentVolumeClaim": models})
    if own.secrets:
        found.append(_secrets_volume(spec, own))
    if auth.k8s_auth_on(own):
        # mounted whole (no subPath), so a rotated Secret reaches running pods
        secret = {"secretName": auth.k8s_keys_secret(own), "defaultMode": 0o400}
        found.append({"name": "api-keys", "secret": secret})
    if claim is not None:
        found.append({"name": "queue", "persistentVolumeClaim": {"claimName": claim.name}})
    return found


def _secrets_volume(spec: Spec, own: Spec) -> Manifest:
    """The spec's secrets as files: a Secret, or an external store through the CSI driver."""
    provider = spec.kubernetes.secret_provider_class
    if provider:
        attributes = {"secretProviderClass": provider}
        csi = {"driver": CSI_SECRETS, "readOnly": True, "volumeAttributes": attributes}
        return {"name": "secrets", "csi": csi}
    secret = {"secretName": f"{own.project.name}-secrets", "defaultMode": 0o400}
    return {"name": "secrets", "secret": secret}


def mounts(spec: Spec, own: Spec, claim: Claim | None) -> list[Manifest]:
    found: list[Manifest] = [{"name": "tmp", "mountPath": "/tmp"}]
    if own.resources.shm:
        found.append({"name": "shm", "mountPath": "/dev/shm"})
    found += [
        {"name": "models", "mountPath": a.container_path, "subPath": a.name, "readOnly": True}
        for a in own.artifacts if a.mode == "volume"
    ]  # fmt: skip
    if own.secrets:
        found.append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})
    if auth.k8s_auth_on(own):
        found.append({"name": "api-keys", "mountPath": auth.K8S_KEYS_DIR, "readOnly": True})
    if claim is not None:
        found.append({"name": "queue", "mountPath": claim.path})
    return found
