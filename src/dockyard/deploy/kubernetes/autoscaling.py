"""Autoscaling: an HPA per HTTP service, a KEDA ScaledObject per queue consumer.

HTTP services scale on CPU and on `dockyard_inflight_requests` per pod, the gauge the runtime
exports, read through the Prometheus adapter's custom metrics API. Queue consumers scale on
their queue's depth through KEDA's Prometheus trigger. A component's replicas from the spec are
its floor, so `[environments.NAME]` keeps deciding the minimum per environment.

Cold start: a stage or worker scaled to zero wakes when its queue is non-empty at KEDA's next
poll (the pipeline front and the API report the queues, so they stay visible with no consumer
up), then waits for a pod to be scheduled, its image pulled and its model loaded (the startup
probe's budget) before the first item runs.
"""

from __future__ import annotations

from dockyard.deploy.kubernetes.components import Component
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.spec import Spec

KEDA_API = "keda.sh/v1alpha1"
INFLIGHT = "dockyard_inflight_requests"  # dockyard.runtime.metrics, per pod
POLL_S = 15


def scaler(spec: Spec, part: Component) -> Manifest:
    """The HPA of an HTTP service, the ScaledObject of a queue consumer."""
    return hpa(spec, part) if part.serves else scaled_object(spec, part)


def floor(part: Component) -> int:
    return max(1, part.replicas)


def ceiling(spec: Spec, part: Component) -> int:
    return max(spec.kubernetes.autoscale.max_replicas, floor(part))


def hpa(spec: Spec, part: Component) -> Manifest:
    scale = spec.kubernetes.autoscale
    cpu = {"type": "Utilization", "averageUtilization": scale.cpu_percent}
    metrics: list[Manifest] = [{"type": "Resource", "resource": {"name": "cpu", "target": cpu}}]
    if scale.inflight_per_pod is not None:
        target = {"type": "AverageValue", "averageValue": f"{scale.inflight_per_pod:g}"}
        metrics.append({"type": "Pods", "pods": {"metric": {"name": INFLIGHT}, "target": target}})
    body = {
        "scaleTargetRef": _target(spec, part),
        "minReplicas": floor(part),
        "maxReplicas": ceiling(spec, part),
        "metrics": metrics,
    }
    return obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        name(spec, part.role),
        {"spec": body},
        labels(spec, part.role),
    )


def scaled_object(spec: Spec, part: Component) -> Manifest:
    scale = spec.kubernetes.autoscale
    assert part.queue is not None, "queue consumers name their depth metric"
    to_zero = scale.scale_to_zero and part.queue_without_pods
    trigger = {
        "type": "prometheus",
        "metadata": {
            "serverAddress": scale.prometheus_url,
            "query": part.queue,
            "threshold": str(scale.queue_per_pod),
        },
    }
    body = {
        "scaleTargetRef": {"name": name(spec, part.role)},
        "pollingInterval": POLL_S,
        "cooldownPeriod": scale.cooldown_s,
        "minReplicaCount": 0 if to_zero else floor(part),
        "maxReplicaCount": ceiling(spec, part),
        "triggers": [trigger],
    }
    return obj(
        KEDA_API, "ScaledObject", name(spec, part.role), {"spec": body}, labels(spec, part.role)
    )


def _target(spec: Spec, part: Component) -> Manifest:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name(spec, part.role)}
