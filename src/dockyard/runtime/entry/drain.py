"""Draining an HTTP app: count requests in flight and refuse new work while shutting down."""

from __future__ import annotations

from typing import Protocol

from dockyard.runtime.http import HTTPError, Receive, Scope, Send, request_id_of, send_bytes

# Probes, metrics and status reads stay answered while draining; anything else is new work.
READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


class DrainableApp(Protocol):
    """An ASGI app whose readiness can be turned off for good (its /readyz then answers 503)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def drain(self) -> None:
        """Mark the app as shutting down: readiness false from now on."""

    def fatal(self) -> str | None:
        """Why the process must exit now (e.g. the model's setup failed), else None."""


class DrainGate:
    """Wraps an app: counts requests in flight; once draining, answers new work 503.

    A 503 with Retry-After and `Connection: close` tells a client (or a balancer that has not
    yet noticed /readyz) to retry on another replica, rather than waiting on a closed socket.
    """

    def __init__(self, app: DrainableApp) -> None:
        self.app = app
        self.in_flight = 0
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.draining and scope["method"] not in READ_ONLY:
            return await _refuse(scope, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def start(self) -> None:
        """Begin draining: readiness turns false and new work is refused."""
        self.draining = True
        self.app.drain()

    @property
    def idle(self) -> bool:
        return self.in_flight == 0


DRAINING = HTTPError(
    503,
    "draining",
    "the server is shutting down; retry on another replica",
    {"Retry-After": "1", "Connection": "close"},
)


async def _refuse(scope: Scope, send: Send) -> None:
    request_id = request_id_of(scope)
    await send_bytes(send, 503, DRAINING.body(request_id), request_id, DRAINING.headers)
