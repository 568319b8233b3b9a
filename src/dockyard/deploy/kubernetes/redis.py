"""The stack's own Redis as a one-pod StatefulSet with its own volume, behind an ACL user.

The Service is called `redis`, the host the spec's redis_url names in Compose too, so the same
URL works on both (one project per namespace). Append-only with `everysec` fsync and no
eviction, as in Compose, so queued jobs survive a restart. When the jobs queue uses it, only
the queue's ACL user gets in (docs/security.md); probes log in as a PING-only user.
"""

from __future__ import annotations

from dockyard.deploy import auth
from dockyard.deploy.kubernetes import pods
from dockyard.deploy.kubernetes.components import REDIS_HOST, redis_login
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.deploy.kubernetes.workloads import claim_spec
from dockyard.spec import Spec

PORT = 6379
DATA = "/data"
SERVER = ["redis-server", "--dir", DATA, "--appendonly", "yes", "--appendfsync", "everysec",
          "--maxmemory-policy", "noeviction"]  # fmt: skip
PING = ["redis-cli", "ping"]
HEALTH_PING = ["redis-cli", "--user", "health", "--pass", "-", "--no-auth-warning", "ping"]


def redis(spec: Spec) -> list[Manifest]:
    """The Service `redis` and the StatefulSet."""
    own = labels(spec, "redis")
    body = {
        "serviceName": REDIS_HOST,
        "replicas": 1,
        "selector": {"matchLabels": own},
        "template": {"metadata": {"labels": own}, "spec": _pod(spec)},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim_spec(spec)}],
    }
    ports = [{"name": "redis", "port": PORT, "targetPort": "redis"}]
    service = {"spec": {"type": "ClusterIP", "selector": own, "ports": ports}}
    return [
        obj("v1", "Service", REDIS_HOST, service, own),
        obj("apps/v1", "StatefulSet", name(spec, "redis"), {"spec": body}, own),
    ]


def _pod(spec: Spec) -> Manifest:
    uid = int(spec.stack.redis_user.split(":")[0])
    security = {**pods.pod_security(spec), "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}
    pod: Manifest = {"securityContext": security, "automountServiceAccountToken": False}
    if spec.kubernetes.priority_class:
        pod["priorityClassName"] = spec.kubernetes.priority_class
    pod["containers"] = [_server(spec)]
    if redis_login(spec):
        pod["volumes"] = [pods.redis_login_volume(spec, auth.REDIS_ACL)]
    return pod


def _server(spec: Spec) -> Manifest:
    args, ping = list(SERVER), PING
    mounts: list[Manifest] = [{"name": "data", "mountPath": DATA}]
    if redis_login(spec):
        acl = f"{pods.REDIS_LOGIN_DIR}/{auth.REDIS_ACL}"
        args += ["--aclfile", acl, "--protected-mode", "no"]
        mounts.append({"name": "redis-login", "mountPath": pods.REDIS_LOGIN_DIR, "readOnly": True})
        ping = HEALTH_PING
    cpu, memory = pods.millicores(spec.stack.redis_cpus), pods.quantity(spec.stack.redis_memory)
    size = {"cpu": cpu, "memory": memory}
    return {
        "name": "redis",
        "image": spec.stack.redis_image,
        "args": args,
        "ports": [{"name": "redis", "containerPort": PORT}],
        "resources": {"requests": size, "limits": size},
        "securityContext": pods.container_security(),
        "readinessProbe": {"exec": {"command": ping}, "periodSeconds": 5},
        "livenessProbe": {"exec": {"command": ping}, "periodSeconds": 10},
        "volumeMounts": mounts,
    }
