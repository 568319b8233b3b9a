"""Safety around the pods: disruption budgets and NetworkPolicies mirroring Compose's networks.

Compose puts the published services on `front` and everything else on `back` (internal: no way
out). Here: all ingress is denied but to HTTP services on their port (front ones from anywhere,
router versions from the project only), Redis from the project's pods, and metrics ports from
any namespace (Prometheus); pods that Compose keeps on `back` alone may reach only the project's
pods and DNS.
"""

from __future__ import annotations

from dockyard.deploy.kubernetes.components import Component
from dockyard.deploy.kubernetes.objects import Manifest, labels, name, obj, project_selector
from dockyard.deploy.kubernetes.redis import PORT as REDIS_PORT
from dockyard.spec import Spec

NETWORKING = "networking.k8s.io/v1"
DNS_PORT = 53


def disruption_budget(spec: Spec, part: Component) -> Manifest:
    """Voluntary evictions (drains, upgrades) take one pod of the service at a time."""
    body = {"maxUnavailable": 1, "selector": {"matchLabels": labels(spec, part.role)}}
    own = labels(spec, part.role)
    return obj("policy/v1", "PodDisruptionBudget", name(spec, part.role), {"spec": body}, own)


def network_policies(spec: Spec, parts: list[Component], redis: bool) -> list[Manifest]:
    found = [_deny_all(spec)]
    found += [_ingress(spec, part) for part in parts if part.serves or part.metrics_port]
    if redis:
        found.append(_redis(spec))
    inside = [part for part in parts if _back_only(spec, part)]
    if inside:
        found.append(_internal(spec, inside))
    return found


def _policy(spec: Spec, role: str, selector: dict[str, str], body: Manifest) -> Manifest:
    own = labels(spec, role)
    spec_body = {"podSelector": {"matchLabels": selector}, **body}
    return obj(NETWORKING, "NetworkPolicy", name(spec, f"{role}-net"), {"spec": spec_body}, own)


def _deny_all(spec: Spec) -> Manifest:
    """No rules: nothing reaches a project pod unless a policy below lets it."""
    return _policy(spec, "default", project_selector(spec), {"policyTypes": ["Ingress"]})


def _ingress(spec: Spec, part: Component) -> Manifest:
    rules = []
    if part.serves:
        if part.role.startswith("model-"):  # behind the router: the back network
            peers = [{"podSelector": {"matchLabels": project_selector(spec)}}]
        else:
            peers = [{"podSelector": {}}, {"namespaceSelector": {}}]
        rules.append({"from": peers, "ports": [{"protocol": "TCP", "port": part.port}]})
    if part.metrics_port:
        port = [{"protocol": "TCP", "port": part.metrics_port}]
        rules.append({"from": [{"namespaceSelector": {}}], "ports": port})
    body = {"policyTypes": ["Ingress"], "ingress": rules}
    return _policy(spec, part.role, labels(spec, part.role), body)


def _redis(spec: Spec) -> Manifest:
    peers = [{"podSelector": {"matchLabels": project_selector(spec)}}]
    rule = {"from": peers, "ports": [{"protocol": "TCP", "port": REDIS_PORT}]}
    body = {"policyTypes": ["Ingress"], "ingress": [rule]}
    return _policy(spec, "redis", labels(spec, "redis"), body)


def _back_only(spec: Spec, part: Component) -> bool:
    if part.role == "worker":
        return not spec.stack.worker_egress
    return part.role.startswith(("stage-", "model-"))


def _internal(spec: Spec, parts: list[Component]) -> Manifest:
    """Egress of back-only pods: the project's pods and the cluster's DNS, nothing else."""
    roles = sorted(part.role for part in parts)
    selector = {
        "matchLabels": project_selector(spec),
        "matchExpressions": [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": roles}
        ],
    }
    dns = [{"protocol": proto, "port": DNS_PORT} for proto in ("UDP", "TCP")]
    egress = [
        {"to": [{"podSelector": {"matchLabels": project_selector(spec)}}]},
        {"to": [{"namespaceSelector": {}}], "ports": dns},
    ]
    body = {"podSelector": selector, "policyTypes": ["Egress"], "egress": egress}
    own = labels(spec, "internal")
    return obj(NETWORKING, "NetworkPolicy", name(spec, "internal-net"), {"spec": body}, own)
