"""Talking to the versions over HTTP: forwarding a request and probing readiness, pooled."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

# Request headers a version needs to answer as it would directly; the rest stays at the router.
FORWARDED = frozenset({"content-type", "accept", "x-request-id", "inference-header-content-length"})
# Response headers that describe this hop's connection, not the answer; the router sets its own.
HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
)


@dataclass(frozen=True)
class Answer:
    """A version's response to one forwarded request."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    seconds: float


class Upstreams:
    """One pooled async HTTP client for every version (keep-alive connections are reused).

    A version's URL may name a service with many replicas (a Swarm or Kubernetes service
    resolved by DNS). Pooled connections stay with the replica they were opened to, even after
    the orchestrator took it out of DNS to stop it; so readiness probes and retries use `fresh`,
    a client that opens a new connection (a new DNS lookup) every time.
    """

    def __init__(self, urls: Mapping[str, str], timeout_s: float) -> None:
        self.urls = dict(urls)
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
        )
        self.fresh = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=0)
        )

    async def post(
        self,
        name: str,
        path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        fresh: bool = False,
    ) -> Answer:
        """POST `body` to `path` on version `name`; raises httpx.HTTPError when it cannot answer."""
        sent = [(k, v) for k, v in headers if k.lower() in _FORWARDED_BYTES]
        started = time.perf_counter()
        client = self.fresh if fresh else self.client
        response = await client.post(self.urls[name] + path, content=body, headers=sent)
        kept = tuple(
            (k, v) for k, v in response.headers.raw if k.lower().decode("latin-1") not in HOP
        )
        return Answer(response.status_code, kept, response.content, time.perf_counter() - started)

    async def ready(self, name: str, timeout_s: float) -> bool:
        """True when the version's /readyz answers 200 within `timeout_s`."""
        try:
            response = await self.fresh.get(self.urls[name] + "/readyz", timeout=timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def close(self) -> None:
        await self.client.aclose()
        await self.fresh.aclose()


_FORWARDED_BYTES = frozenset(h.encode() for h in FORWARDED)
