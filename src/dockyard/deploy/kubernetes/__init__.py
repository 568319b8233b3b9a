"""Kubernetes manifests from the same spec, one module per concept.

`components` lists the services (API, workers, pipeline front and stages, router versions),
`pods` shapes their restricted pods, `workloads` the Deployments, Services, CronJobs and Redis,
`autoscaling` the HPAs and KEDA ScaledObjects, `policies` the disruption budgets and network
policies, `monitors` the Prometheus Operator objects, and `kustomize` lays it all out as a base
plus one overlay per environment.

Pure: spec in, a list of manifest dicts out, in apply order. Values of secrets are never
rendered: pods mount the Secret named `<project>-secrets`, which the operator creates
(`kubectl create secret generic ... --from-file`), and, unless the spec opts out of keys, the
API keys file from `<project>-api-keys` (`dockyard k8s` generates one).
"""

from __future__ import annotations

from pathlib import Path

from dockyard.deploy.kubernetes import autoscaling, monitors, policies, workloads
from dockyard.deploy.kubernetes.components import components, runs_redis
from dockyard.deploy.kubernetes.objects import Manifest, to_yaml
from dockyard.spec import Spec

__all__ = ["Manifest", "render_kubernetes", "to_yaml"]


def render_kubernetes(
    spec: Spec, image: str, root: Path | None = None, load_s: float | None = None
) -> list[Manifest]:
    """Every manifest the spec implies, in apply order.

    `root` lets pipeline stages and router versions read their own projects; `load_s` is the
    model's measured load time, which sizes the startup probes.
    """
    parts = components(spec, image, root)
    redis = runs_redis(spec)
    found: list[Manifest] = workloads.redis(spec) if redis else []
    claims = {part.claim for part in parts if part.claim is not None}
    found += [workloads.claim(spec, claim) for claim in sorted(claims, key=lambda c: c.name)]
    autoscale = spec.kubernetes.autoscale.enabled
    for part in parts:
        found.append(workloads.deployment(spec, part, load_s))
        if part.serves:
            found.append(workloads.service(spec, part))
        if autoscale:
            found.append(autoscaling.scaler(spec, part))
        if part.replicas > 1 or autoscale:
            found.append(policies.disruption_budget(spec, part))
        if spec.kubernetes.service_monitor and (monitor := monitors.monitor(spec, part)):
            found.append(monitor)
    found += [workloads.cronjob(spec, image, job) for job in spec.schedules]
    found += policies.network_policies(spec, parts, redis)
    return found
