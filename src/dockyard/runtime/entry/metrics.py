"""The metrics port of processes without an HTTP server of their own (worker, stage, scheduler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server

from dockyard.errors import DockyardError

if TYPE_CHECKING:  # the health checks import this package: keep the auth layer off their path
    from dockyard.runtime.auth.config import AuthConfig


class MetricsPortError(DockyardError):
    """The metrics port is taken: the process stops rather than run unobserved."""


def serve_metrics(registry: CollectorRegistry, port: int, auth: AuthConfig | None = None) -> None:
    """Expose `registry` at /metrics on `port` (0 = not at all); a taken port is a clear error.

    With `auth`, a scrape needs a key with the `metrics` scope when keys are on.
    """
    if port == 0:
        return
    try:
        if auth is None:
            start_http_server(port, registry=registry)
        else:
            from dockyard.runtime.auth.wsgi import serve_metrics as serve_guarded

            serve_guarded(registry, port, auth)
    except OSError as exc:
        raise MetricsPortError(
            f"metrics port {port} cannot be opened ({exc.strerror or exc}): set "
            "DOCKYARD_METRICS_PORT (or --metrics-port) to a free port, or to 0 to serve no metrics"
        ) from exc
