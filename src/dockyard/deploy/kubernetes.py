"""Kubernetes manifests from the same spec: the API and workers as Deployments, schedules as
CronJobs, with the restricted Pod Security settings, probes on the runtime's own health routes,
limits, secrets as files and a default-deny network policy for everything but the API.

Shutdown: the API's preStop pause lets endpoints drop the pod before SIGTERM starts the drain;
each role's grace period covers its own drain. SQLite jobs live on one ReadWriteOnce volume,
so every pod mounting it is required onto one node (Redis has no such limit).

Pure: spec in, a list of manifest dicts out (`to_yaml` joins them as one multi-document file).
Values of secrets are never rendered: pods mount the Secret named `<project>-secrets`, which the
operator creates (`kubectl create secret generic ... --from-file`), and, unless the spec opts out
of keys, the API keys file from `<project>-api-keys` (`dockyard k8s` generates one).
"""

from __future__ import annotations

from typing import Any

import yaml

from dockyard.deploy import auth
from dockyard.spec import Spec
from dockyard.spec.base import format_size
from dockyard.spec.schedule import ScheduledJob

Manifest = dict[str, Any]
APP_DIR = "/app"
PYTHON = "/opt/venv/bin/python"
SECRETS_DIR = "/run/secrets"
PRE_STOP_S = 5  # endpoints controllers and kube-proxy usually catch up within a few seconds
GRACE_MARGIN_S = 5
JOBS_VOLUME_LABEL = "dockyard.dev/jobs-volume"
HOSTNAME = "kubernetes.io/hostname"


def render_kubernetes(spec: Spec, image: str) -> list[Manifest]:
    """Every manifest the spec implies, in apply order."""
    found: list[Manifest] = [_deployment(spec, image, "api"), _service(spec)]
    if spec.stack.api_replicas > 1:
        found.append(_disruption_budget(spec))
    if spec.worker.enabled:
        found.append(_deployment(spec, image, "worker"))
    found += [_cronjob(spec, image, job) for job in spec.schedules]
    found.append(_network_policy(spec))
    return found


class _Plain(yaml.SafeDumper):
    """No `&id001` anchors: shared label dicts are written out in full, as humans write them."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(manifests: list[Manifest]) -> str:
    """One multi-document YAML file, keys in the order written (deterministic)."""
    return "---\n".join(yaml.dump(m, Dumper=_Plain, sort_keys=False, width=100) for m in manifests)


# ---- workloads ---------------------------------------------------------------------------------
def _deployment(spec: Spec, image: str, role: str) -> Manifest:
    replicas = spec.stack.api_replicas if role == "api" else spec.worker.replicas
    labels = _labels(spec, role)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": _name(spec, role), "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, **_volume_labels(spec)}},
                "spec": _pod(spec, image, role),
            },
        },
    }


def _pod(spec: Spec, image: str, role: str) -> Manifest:
    container = {
        "name": role,
        "image": image,
        "args": ["serve" if role == "api" else "worker", APP_DIR],
        "env": _env(spec, role),
        "resources": _resources(spec),
        "securityContext": _container_security(),
        "volumeMounts": _mounts(spec),
        **_probes(spec, role),
    }
    if role == "api":
        container["ports"] = [{"name": "http", "containerPort": spec.serving.port}]
        # Endpoints drop a terminating pod asynchronously: pause before SIGTERM so no request
        # is sent to a pod that has begun to drain. Python is the one tool every image has.
        pause = [PYTHON, "-c", f"import time; time.sleep({PRE_STOP_S})"]
        container["lifecycle"] = {"preStop": {"exec": {"command": pause}}}
    return {
        "securityContext": _pod_security(spec),
        "automountServiceAccountToken": False,  # the model never talks to the cluster API
        "terminationGracePeriodSeconds": _grace_s(spec, role),
        **_affinity(spec),
        "containers": [container],
        "volumes": _volumes(spec),
    }


def _grace_s(spec: Spec, role: str) -> int:
    """Seconds from the pod's termination to SIGKILL, by what the role must drain.

    API: the preStop pause, then requests in flight and queued inputs (graceful_timeout_s).
    Worker: the batch in flight (a batch running longer than its lease is run again elsewhere
    anyway), then the webhook being sent.
    """
    if role == "api":
        drain = PRE_STOP_S + spec.serving.graceful_timeout_s
    else:
        drain = spec.worker.lease_s + spec.worker.webhook_timeout_s
    return int(drain) + GRACE_MARGIN_S


def _volume_labels(spec: Spec) -> dict[str, str]:
    """Pods mounting the SQLite jobs volume carry its name, for the affinity below."""
    return {JOBS_VOLUME_LABEL: f"{spec.project.name}-jobs"} if _sqlite_jobs(spec) else {}


def _affinity(spec: Spec) -> Manifest:
    """SQLite: a ReadWriteOnce volume mounts on one node only, so its pods go together there."""
    if not _sqlite_jobs(spec):
        return {}
    term = {"labelSelector": {"matchLabels": _volume_labels(spec)}, "topologyKey": HOSTNAME}
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


def _sqlite_jobs(spec: Spec) -> bool:
    return spec.worker.enabled and spec.worker.backend == "sqlite"


def _cronjob(spec: Spec, image: str, job: ScheduledJob) -> Manifest:
    """A schedule as a CronJob: overlap skip -> Forbid, allow -> Allow; each run a fresh pod."""
    labels = _labels(spec, f"job-{job.name}")
    container = {
        "name": job.name,
        "image": job.image or image,
        "command": list(job.command),
        "env": [{"name": k, "value": v} for k, v in sorted({**spec.env, **job.env}.items())],
        "resources": _resources(spec),
        "securityContext": _container_security(),
        "volumeMounts": _mounts(spec),
    }
    pod = {
        "securityContext": _pod_security(spec),
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        **_affinity(spec),
        "containers": [container],
        "volumes": _volumes(spec),
    }
    job_spec: Manifest = {
        "backoffLimit": 0,
        "template": {"metadata": {"labels": {**labels, **_volume_labels(spec)}}, "spec": pod},
    }
    if job.timeout_s:
        job_spec["activeDeadlineSeconds"] = int(job.timeout_s)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": _name(spec, f"job-{job.name}"), "labels": labels},
        "spec": {
            "schedule": job.cron,
            "timeZone": "Etc/UTC" if job.timezone == "UTC" else job.timezone,
            "concurrencyPolicy": "Forbid" if job.overlap == "skip" else "Allow",
            "successfulJobsHistoryLimit": min(job.history_limit, 10),
            "failedJobsHistoryLimit": min(job.history_limit, 10),
            "jobTemplate": {"spec": job_spec},
        },
    }


# ---- networking --------------------------------------------------------------------------------
def _service(spec: Spec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": _name(spec, "api"), "labels": _labels(spec, "api")},
        "spec": {
            "type": "ClusterIP",  # exposure (Ingress, LoadBalancer) is the cluster owner's call
            "selector": _labels(spec, "api"),
            "ports": [{"name": "http", "port": spec.serving.port, "targetPort": "http"}],
        },
    }


def _disruption_budget(spec: Spec) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": _name(spec, "api")},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": _labels(spec, "api")}},
    }


def _network_policy(spec: Spec) -> Manifest:
    """Only the API takes traffic, on its port; workers and jobs take none (the back network)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": _name(spec, "ingress")},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": spec.project.name}},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"podSelector": {}}, {"namespaceSelector": {}}],
                "ports": [{"protocol": "TCP", "port": spec.serving.port}],
            }],
        },
    }  # fmt: skip


# ---- pieces ------------------------------------------------------------------------------------
def _name(spec: Spec, role: str) -> str:
    return f"{spec.project.name}-{role}"


def _labels(spec: Spec, role: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.project.name, "app.kubernetes.io/component": role}


def _env(spec: Spec, role: str) -> list[dict[str, str]]:
    env = {**spec.env, "DOCKYARD_IN_CONTAINER": "1"}
    if auth.k8s_auth_on(spec):
        env[auth.KEYS_FILE_ENV] = f"{auth.K8S_KEYS_DIR}/{spec.auth.keys_secret}"
    if role == "api":
        env["DOCKYARD_HOST"] = "0.0.0.0"
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _resources(spec: Spec) -> Manifest:
    r = spec.resources
    limits: dict[str, Any] = {"cpu": f"{int(r.cpus * 1000)}m", "memory": _quantity(r.memory)}
    if r.gpus:
        limits["nvidia.com/gpu"] = r.gpus  # needs the NVIDIA device plugin; untested here
    cpu_request = r.cpus_reservation or r.cpus
    requests = {
        "cpu": f"{int(cpu_request * 1000)}m",
        "memory": _quantity(r.memory_reservation or r.memory),
    }
    return {"requests": requests, "limits": limits}


def _quantity(num_bytes: int) -> str:
    """Kubernetes binary quantities: 2g -> 2Gi, 512m -> 512Mi."""
    text = format_size(num_bytes)
    return (
        text[:-1] + {"g": "Gi", "m": "Mi", "k": "Ki"}[text[-1]] if text[-1] in "gmk" else text[:-1]
    )


def _probes(spec: Spec, role: str) -> Manifest:
    if role == "api":
        scheme = {"scheme": "HTTPS"} if spec.auth.tls else {}  # kubelet skips verification
        ready = {"httpGet": {"path": "/readyz", "port": "http", **scheme}, "periodSeconds": 5}
        alive = {"httpGet": {"path": "/healthz", "port": "http", **scheme}, "periodSeconds": 10}
    else:
        check = {
            "exec": {
                "command": [PYTHON, "-m", "dockyard.runtime", "healthcheck", APP_DIR, "--worker"]
            }
        }
        ready, alive = {**check, "periodSeconds": 10}, {**check, "periodSeconds": 30}
    # The model may take minutes to load: the startup probe holds liveness off until then.
    startup = {**alive, "periodSeconds": 5, "failureThreshold": 120}
    return {"readinessProbe": ready, "livenessProbe": alive, "startupProbe": startup}


def _pod_security(spec: Spec) -> Manifest:
    uid = spec.build.uid
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container_security() -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _volumes(spec: Spec) -> list[Manifest]:
    volumes: list[Manifest] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": _quantity(spec.stack.tmpfs_size)}}
    ]
    if spec.resources.shm:
        volumes.append(
            {
                "name": "shm",
                "emptyDir": {"medium": "Memory", "sizeLimit": _quantity(spec.resources.shm)},
            }
        )
    if any(a.mode == "volume" for a in spec.artifacts):
        volumes.append(
            {
                "name": "models",
                "persistentVolumeClaim": {
                    "claimName": f"{spec.project.name}-models",
                    "readOnly": True,
                },
            }
        )
    if spec.secrets:
        volumes.append(
            {
                "name": "secrets",
                "secret": {"secretName": f"{spec.project.name}-secrets", "defaultMode": 0o400},
            }
        )
    if auth.k8s_auth_on(spec):
        # mounted whole (no subPath), so a rotated Secret reaches running pods
        secret = {"secretName": auth.k8s_keys_secret(spec), "defaultMode": 0o400}
        volumes.append({"name": "api-keys", "secret": secret})
    if _sqlite_jobs(spec):
        # SQLite needs one node's disk: a ReadWriteOnce claim shared by pods on that node only.
        volumes.append(
            {"name": "jobs", "persistentVolumeClaim": {"claimName": f"{spec.project.name}-jobs"}}
        )
    return volumes


def _mounts(spec: Spec) -> list[Manifest]:
    mounts: list[Manifest] = [{"name": "tmp", "mountPath": "/tmp"}]
    if spec.resources.shm:
        mounts.append({"name": "shm", "mountPath": "/dev/shm"})
    mounts += [
        {"name": "models", "mountPath": a.container_path, "subPath": a.name, "readOnly": True}
        for a in spec.artifacts if a.mode == "volume"
    ]  # fmt: skip
    if spec.secrets:
        mounts.append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})
    if auth.k8s_auth_on(spec):
        mounts.append({"name": "api-keys", "mountPath": auth.K8S_KEYS_DIR, "readOnly": True})
    if _sqlite_jobs(spec):
        mounts.append({"name": "jobs", "mountPath": spec.worker.sqlite_path.rsplit("/", 1)[0]})
    return mounts
