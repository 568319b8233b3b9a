"""Prometheus Operator objects: a ServiceMonitor per HTTP service, a PodMonitor per consumer.

HTTP services serve /metrics on their own port; workers and stages on their metrics port (they
have no Service). Rendered only when `kubernetes.service_monitor` is on: they need the
operator's CRDs in the cluster.
"""

from __future__ import annotations

from dockyard.deploy.kubernetes.components import Component
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj
from dockyard.spec import Spec

MONITORING_API = "monitoring.coreos.com/v1"
INTERVAL = "15s"


def monitor(spec: Spec, part: Component) -> Manifest | None:
    own = labels(spec, part.role)
    if part.serves:
        endpoint = {"port": "http", "path": "/metrics", "interval": INTERVAL}
        body = {"selector": {"matchLabels": own}, "endpoints": [endpoint]}
        return obj(MONITORING_API, "ServiceMonitor", name(spec, part.role), {"spec": body}, own)
    if part.metrics_port:
        endpoint = {"port": "metrics", "path": "/metrics", "interval": INTERVAL}
        body = {"selector": {"matchLabels": own}, "podMetricsEndpoints": [endpoint]}
        return obj(MONITORING_API, "PodMonitor", name(spec, part.role), {"spec": body}, own)
    return None
