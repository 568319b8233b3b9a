"""Workloads: a Deployment (and Service) per component, CronJobs, Redis as a StatefulSet.

Rolling updates never surge a GPU service: with one GPU per node a surge pod cannot be placed
and the default 25% surge would stall the rollout, so GPU services replace one pod at a time.
"""

from __future__ import annotations

from dockyard.deploy import auth
from dockyard.deploy.kubernetes import pods
from dockyard.deploy.kubernetes.components import (
    REDIS_HOST,
    Claim,
    Component,
    jobs_claim,
    redis_login,
)
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.spec import Spec
from dockyard.spec.schedule import ScheduledJob

REDIS_PORT = 6379
REDIS_DIR = "/data"


def deployment(spec: Spec, part: Component, load_s: float | None) -> Manifest:
    own = labels(spec, part.role)
    template = {
        "metadata": {"labels": {**own, **pods.claim_labels(part.claim)}},
        "spec": pods.pod(spec, part, load_s),
    }
    # An autoscaler owns the count: a `replicas` here would reset it on every apply.
    count = {} if spec.kubernetes.autoscale.enabled else {"replicas": part.replicas}
    body = {
        **count,
        "selector": {"matchLabels": own},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling_update(part)},
        "template": template,
    }
    return obj("apps/v1", "Deployment", name(spec, part.role), {"spec": body}, own)


def rolling_update(part: Component) -> dict[str, int | str]:
    """GPU services: no surge (nowhere to place it), one pod down at a time; others: surge one
    and keep every old pod until its replacement is ready."""
    if part.own.resources.gpus > 0:
        return {"maxSurge": 0, "maxUnavailable": 1}
    return {"maxSurge": 1, "maxUnavailable": 0}


def service(spec: Spec, part: Component) -> Manifest:
    body = {
        "type": "ClusterIP",  # exposure (Ingress, LoadBalancer) is the cluster owner's call
        "selector": labels(spec, part.role),
        "ports": [{"name": "http", "port": part.port, "targetPort": "http"}],
    }
    return obj("v1", "Service", name(spec, part.role), {"spec": body}, labels(spec, part.role))


def cronjob(spec: Spec, image: str, job: ScheduledJob) -> Manifest:
    """A schedule as a CronJob: overlap skip -> Forbid, allow -> Allow; each run a fresh pod."""
    role = f"job-{job.name}"
    claim = jobs_claim(spec)
    container = {
        "name": job.name,
        "image": job.image or image,
        "command": list(job.command),
        "env": [{"name": k, "value": v} for k, v in sorted({**spec.env, **job.env}.items())],
        "resources": pods.resources(spec.resources),
        "securityContext": pods.container_security(),
        "volumeMounts": pods.mounts(spec, spec, claim),
    }
    pod = {
        **pods.common(spec, spec, claim),
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": pods.volumes(spec, spec, claim),
    }
    job_spec: Manifest = {
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": {**labels(spec, role), **pods.claim_labels(claim)}},
            "spec": pod,
        },
    }
    if job.timeout_s:
        job_spec["activeDeadlineSeconds"] = int(job.timeout_s)
    body = {
        "schedule": job.cron,
        "timeZone": "Etc/UTC" if job.timezone == "UTC" else job.timezone,
        "concurrencyPolicy": "Forbid" if job.overlap == "skip" else "Allow",
        "successfulJobsHistoryLimit": min(job.history_limit, 10),
        "failedJobsHistoryLimit": min(job.history_limit, 10),
        "jobTemplate": {"spec": job_spec},
    }
    return obj("batch/v1", "CronJob", name(spec, role), {"spec": body}, labels(spec, role))


def claim(spec: Spec, volume: Claim) -> Manifest:
    """The ReadWriteOnce volume of a SQLite queue (its pods are co-located on one node)."""
    return obj("v1", "PersistentVolumeClaim", volume.name, {"spec": _claim_spec(spec)}, {})


def _claim_spec(spec: Spec) -> Manifest:
    found: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": pods.quantity(spec.kubernetes.queue_storage)}},
    }
    if spec.kubernetes.storage_class:
        found["storageClassName"] = spec.kubernetes.storage_class
    return found


def redis(spec: Spec) -> list[Manifest]:
    """The stack's own Redis: one pod with its own volume, append-only so jobs survive restarts.

    The Service is called `redis`, the host the spec's redis_url names in Compose too, so the
    same URL works on both (one project per namespace). As in Compose, when the jobs queue uses
    it only the queue's ACL user gets in (docs/security.md); a PING-only user serves probes.
    """
    own = labels(spec, "redis")
    uid = int(spec.stack.redis_user.split(":")[0])
    login = redis_login(spec)
    args = ["redis-server", "--dir", REDIS_DIR, "--appendonly", "yes",
            "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]  # fmt: skip
    mounts: list[Manifest] = [{"name": "data", "mountPath": REDIS_DIR}]
    ping = ["redis-cli", "ping"]
    if login:
        args += ["--aclfile", f"{pods.REDIS_LOGIN_DIR}/{auth.REDIS_ACL}", "--protected-mode", "no"]
        mounts.append({"name": "redis-login", "mountPath": pods.REDIS_LOGIN_DIR, "readOnly": True})
        ping = ["redis-cli", "--user", "health", "--pass", "-", "--no-auth-warning", "ping"]
    container = {
        "name": "redis",
        "image": spec.stack.redis_image,
        "args": args,
        "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
        "resources": _redis_resources(spec),
        "securityContext": pods.container_security(),
        "readinessProbe": {"exec": {"command": ping}, "periodSeconds": 5},
        "livenessProbe": {"exec": {"command": ping}, "periodSeconds": 10},
        "volumeMounts": mounts,
    }
    security = {**pods.pod_security(spec), "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}
    pod: Manifest = {"securityContext": security, "automountServiceAccountToken": False}
    if spec.kubernetes.priority_class:
        pod["priorityClassName"] = spec.kubernetes.priority_class
    pod["containers"] = [container]
    if login:
        pod["volumes"] = [pods.redis_login_volume(spec, auth.REDIS_ACL)]
    body = {
        "serviceName": REDIS_HOST,
        "replicas": 1,
        "selector": {"matchLabels": own},
        "template": {"metadata": {"labels": own}, "spec": pod},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": _claim_spec(spec)}],
    }
    ports = [{"name": "redis", "port": REDIS_PORT, "targetPort": "redis"}]
    svc = {"spec": {"type": "ClusterIP", "selector": own, "ports": ports}}
    return [
        obj("v1", "Service", REDIS_HOST, svc, own),
        obj("apps/v1", "StatefulSet", name(spec, "redis"), {"spec": body}, own),
    ]


def _redis_resources(spec: Spec) -> Manifest:
    cpu, memory = pods.millicores(spec.stack.redis_cpus), pods.quantity(spec.stack.redis_memory)
    size = {"cpu": cpu, "memory": memory}
    return {"requests": size, "limits": size}
