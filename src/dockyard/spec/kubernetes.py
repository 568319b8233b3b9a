"""How `dockyard k8s` places the same services on a cluster: autoscaling, spreading, Redis.

Only what Kubernetes adds over a single host lives here; replicas, resources and environment
come from the tables every target shares (and from `[environments.NAME]` overlays).
"""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import ByteSize, Section

GPU_NODE_LABEL = "nvidia.com/gpu.present"


class Autoscale(Section):
    """HorizontalPodAutoscaler for the API and KEDA ScaledObjects for workers and stages.

    The API scales on CPU and on requests in flight per pod (through the Prometheus adapter's
    custom metrics API); workers and pipeline stages scale on their queue's depth through KEDA's
    Prometheus trigger, down to zero when `scale_to_zero` (the first job then waits for a pod to
    start and load the model).
    """

    enabled: bool = Field(default=False, description="Render HPAs and KEDA ScaledObjects")
    max_replicas: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Most pods of each service; the fewest are its replicas",
    )
    cpu_percent: int = Field(
        default=70, ge=1, le=1000, description="Target CPU use per pod, in percent of its request"
    )
    inflight_per_pod: float | None = Field(
        default=4.0,
        gt=0,
        description="Target of dockyard_inflight_requests per API pod (custom metrics API); "
        "unset to scale on CPU alone",
    )
    queue_per_pod: int = Field(
        default=20, ge=1, description="Queued jobs or items per worker or stage pod (KEDA)"
    )
    scale_to_zero: bool = Field(
        default=True,
        description="Let KEDA remove every pod of a pipeline stage while its queue is empty "
        "(workers keep one: only they report their queue)",
    )
    cooldown_s: int = Field(
        default=300, ge=0, description="Idle seconds before KEDA scales a service to zero"
    )
    prometheus_url: str = Field(
        default="http://prometheus-operated.monitoring.svc:9090",
        description="Prometheus that KEDA queries for queue depth",
    )


class Kubernetes(Section):
    """What `dockyard k8s` adds on a cluster: autoscaling, placement, Redis, monitoring.

    Redis is rendered as a StatefulSet when `worker.redis_url` (or `pipeline.redis_url`) names the
    stack's own `redis` host, exactly as Compose decides; any other host is an external Redis.
    """

    autoscale: Autoscale = Field(default=Autoscale(), description="Autoscaling of every service")
    priority_class: str | None = Field(
        default=None, description="PriorityClass of every pod (created by the cluster owner)"
    )
    topology_spread: bool = Field(
        default=True, description="Spread each service's pods over nodes and zones"
    )
    queue_storage: ByteSize = Field(
        default=1024**3,
        ge=1024**2,
        description="Size of the queue's volume: the Redis StatefulSet's, or the SQLite queue's",
    )
    storage_class: str | None = Field(
        default=None, description="StorageClass of the volumes (default: the cluster's)"
    )
    secret_provider_class: str | None = Field(
        default=None,
        description="Mount the spec's secrets through the Secrets Store CSI driver with this "
        "SecretProviderClass (an external store: Vault, cloud secret managers) instead of the "
        "Secret NAME-secrets",
    )
    service_monitor: bool = Field(
        default=False,
        description="Render Prometheus Operator ServiceMonitor/PodMonitor objects (needs its CRDs)",
    )
    startup_s: int = Field(
        default=600,
        ge=10,
        le=86400,
        description="Longest model load the startupProbe allows when no measured load time "
        "is given (`dockyard k8s --load-s`)",
    )
    gpu_node_selector: dict[str, str] = Field(
        default_factory=lambda: {GPU_NODE_LABEL: "true"},
        description="Node labels GPU pods require (default: the NVIDIA GPU operator's label)",
    )
