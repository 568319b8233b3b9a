"""The same key check in front of prometheus-client's WSGI metrics app (worker metrics ports)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from dockyard.runtime.auth import rules
from dockyard.runtime.auth.config import AuthConfig
from dockyard.runtime.auth.middleware import Guard, Refusal
from dockyard.runtime.http import Receive, Scope, Send

log = logging.getLogger("dockyard.auth")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guarded(app: WSGIApp, guard: Guard) -> WSGIApp:
    """`app` answering only callers the guard lets through."""

    def check(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [
            (k[5:].replace("_", "-").lower().encode(), str(v).encode("latin-1"))
            for k, v in environ.items()
            if k.startswith("HTTP_")
        ]
        found = guard.check(environ.get("PATH_INFO", "/"), headers)
        if not isinstance(found, Refusal):
            return app(environ, start_response)
        body = found.body("")
        raw = found.headers(body, "-")
        start_response(f"{found.status} {found.kind}", [(k.decode(), v.decode()) for k, v in raw])
        return [body]

    return check


async def _no_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("only the guard's check is used in front of a WSGI app")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def serve_metrics(
    registry: CollectorRegistry, port: int, auth: AuthConfig, addr: str = "0.0.0.0"
) -> None:
    """/metrics of `registry` on `port` in a daemon thread, behind the `metrics` scope."""
    guard = Guard(_no_asgi, auth, rules.METRICS_PORT, registry)
    app = guarded(make_wsgi_app(registry), guard)
    server = make_server(addr, port, app, ThreadingWSGIServer, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="dockyard-metrics", daemon=True).start()
