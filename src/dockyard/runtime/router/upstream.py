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
    """One pooled async HTTP client for every version (keep-alive connections are reused)."""

    def __init__(self, urls: Mapping[str, str], timeout_s: float) -> None:
        self.urls = dict(urls)
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
        )

    async def post(
        self, name: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> Answer:
        """POST `body` to `path` on version `name`; raises httpx.HTTPError when it cannot answer."""
        sent = [(k, v) for k, v in headers if k.lower() in _FORWARDED_BYTES]
        started = time.perf_counter()
        response = await self.client.post(self.urls[name] + path, content=body, headers=sent)
        kept = tuple(
            (k, v) for k, v in response.headers.raw if k.lower().decode("latin-1") not in HOP
        )
        return Answer(response.status_code, kept, response.content, time.perf_counter() - started)

    async def ready(self, name: str, timeout_s: float) -> bool:
        """True when the version's /readyz answers 200 within `timeout_s`."""
        try:
            response = await self.client.get(self.urls[name] + "/readyz", timeout=timeout_s)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def close(self) -> None:
        await self.client.aclose()


_FORWARDED_BYTES = frozenset(h.encode() for h in FORWARDED)
