"""Workloads: a Deployment (and Service) per component, CronJobs, the SQLite queue's volume.

Rolling updates never surge a GPU service: with one GPU per node a surge pod cannot be placed
and the default 25% surge would stall the rollout, so GPU services replace one pod at a time.
"""

from __future__ import annotations

from dockyard.deploy.kubernetes import pods
from dockyard.deploy.kubernetes.components import Claim, Component, jobs_claim
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.spec import Spec
from dockyard.spec.schedule import ScheduledJob


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
    return obj("v1", "PersistentVolumeClaim", volume.name, {"spec": claim_spec(spec)}, {})


def claim_spec(spec: Spec) -> Manifest:
    found: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": pods.quantity(spec.kubernetes.queue_storage)}},
    }
    if spec.kubernetes.storage_class:
        found["storageClassName"] = spec.kubernetes.storage_class
    return found
