"""The metrics port of processes without an HTTP server of their own (worker, stage, scheduler)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

from dockyard.errors import DockyardError


class MetricsPortError(DockyardError):
    """The metrics port is taken: the process stops rather than run unobserved."""


def serve_metrics(registry: CollectorRegistry, port: int) -> None:
    """Expose `registry` at /metrics on `port` (0 = not at all); a taken port is a clear error."""
    if port == 0:
        return
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        raise MetricsPortError(
            f"metrics port {port} cannot be opened ({exc.strerror or exc}): set "
            "DOCKYARD_METRICS_PORT (or --metrics-port) to a free port, or to 0 to serve no metrics"
        ) from exc
