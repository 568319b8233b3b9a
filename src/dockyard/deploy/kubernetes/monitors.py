"""Prometheus Operator objects: a ServiceMonitor per HTTP service, a PodMonitor per consumer.

HTTP services serve /metrics on their own port; workers and stages on their metrics port (they
have no Service). With API keys on (the default in a cluster) /metrics wants a key with the
`metrics` scope: Prometheus sends the one in the Secret NAME-metrics-key, which `dockyard k8s`
generates and adds to the keys file. Rendered only when `kubernetes.service_monitor` is on:
they need the operator's CRDs in the cluster.
"""

from __future__ import annotations

from dockyard.deploy import auth
from dockyard.deploy.kubernetes.components import Component
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.spec import Spec

MONITORING_API = "monitoring.coreos.com/v1"
INTERVAL = "15s"
TOKEN_KEY = "token"


def metrics_secret(spec: Spec) -> str:
    return f"{spec.project.name}-metrics-key"


def monitor(spec: Spec, part: Component) -> Manifest | None:
    own = labels(spec, part.role)
    if part.serves:
        endpoint = _endpoint(spec, part, "http")
        body = {"selector": {"matchLabels": own}, "endpoints": [endpoint]}
        return obj(MONITORING_API, "ServiceMonitor", name(spec, part.role), {"spec": body}, own)
    if part.metrics_port:
        endpoint = _endpoint(spec, part, "metrics")
        body = {"selector": {"matchLabels": own}, "podMetricsEndpoints": [endpoint]}
        return obj(MONITORING_API, "PodMonitor", name(spec, part.role), {"spec": body}, own)
    return None


def _endpoint(spec: Spec, part: Component, port: str) -> Manifest:
    endpoint: Manifest = {"port": port, "path": "/metrics", "interval": INTERVAL}
    if auth.k8s_auth_on(part.own):
        secret = {"name": metrics_secret(spec), "key": TOKEN_KEY}
        endpoint["authorization"] = {"type": "Bearer", "credentials": secret}
    return endpoint
