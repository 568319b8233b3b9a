"""The auth layer: one ASGI wrapper in front of every Dockyard app.

Per request, in order: probes pass; `/status/login` is the browser pages' sign-in (login.py);
the key is found by its digest, or for a GET needing `metrics` or any key by the session cookie
(401 when absent or unknown; a browser asking for /status or /docs gets the sign-in form); the
route's scope is checked (403); the key's bucket is charged, in memory or in the stack's Redis
(429 with Retry-After). GET responses get security headers whether or not auth is on.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from pydantic_core import to_json

from dockyard.runtime.auth import login, session
from dockyard.runtime.auth.config import AuthConfig
from dockyard.runtime.auth.keys import ANY, Key, KeyFile, KeyRing
from dockyard.runtime.auth.limiter import Bucket, Limiter
from dockyard.runtime.auth.openapi import secured
from dockyard.runtime.auth.rules import Rules
from dockyard.runtime.auth.shared import SharedLimiter, Ticket
from dockyard.runtime.http import Message, Receive, Scope, Send, request_id_of

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
KEY_SCOPE = "dockyard.key"  # where the caller's Key sits in the ASGI scope (jobs ownership)
OPENAPI_PATH = "/openapi.json"
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_HTML_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_BEARER = b"bearer "


def caller(scope: Scope) -> Key | None:
    """The authenticated key of a request (None when auth is off)."""
    key: Key | None = scope.get(KEY_SCOPE)
    return key


class Guard:
    """Wraps an ASGI app; attributes not its own are the wrapped app's (`.service`, `.routes`)."""

    def __init__(
        self,
        app: ASGIApp,
        config: AuthConfig,
        rules: Rules,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.app, self.rules = app, rules
        self.keys = KeyFile(config.keys_file) if config.keys_file else None
        self.limiter = Limiter(config.limits)
        self.shared = SharedLimiter(config.shared) if config.shared and self.keys else None
        self._ring = self.keys.current() if self.keys else None
        self.counted = (
            Counter(
                "dockyard_auth_requests",
                "Requests per API key id and outcome (ok, unauthorized, forbidden, limited)",
                ["key_id", "outcome"],
                registry=registry,
            )
            if registry is not None
            else None
        )
        self._children: dict[tuple[str, str], Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "GET":
            send = self._headed(scope, send)
        if self.keys is None:
            return await self.app(scope, receive, send)
        if scope["path"] == login.LOGIN_PATH and self.rules.scope_for(login.STATUS_PATH):
            answer = await login.sign_in(scope, receive, self.keys.current())
            return await _answer(send, answer)
        found = self.check(scope["path"], scope["headers"], browser=scope["method"] == "GET")
        if found is None:
            return await self.app(scope, receive, send)
        if isinstance(found, Refusal):
            if found.status == 401 and login.wants_form(scope):
                return await _answer(send, login.page(401, of=scope["path"].lstrip("/")))
            return await _refuse(scope, send, found)
        key = found
        scope[KEY_SCOPE] = key
        limited = self.limiter.bucket(key)
        if limited is None:
            self._count(key.id, "ok")
            return await self.app(scope, receive, send)
        await self._limited(key, limited, scope, receive, send)

    def check(
        self, path: str, headers: Iterable[tuple[bytes, bytes]], browser: bool = False
    ) -> Key | Refusal | None:
        """The caller's key, a refusal (401/403), or None for an open route (no key needed).

        `browser` (a GET): a sign-in session cookie stands in for a key on the reads a browser
        page makes: `metrics` routes (the status page) and `any` routes (/docs, its OpenAPI).
        """
        needed = self.rules.scope_for(path)
        if needed is None or self.keys is None:
            return None
        ring = self.keys.current()
        if ring is not self._ring:
            self._ring = ring
            self.limiter.forget()
        key = _caller_key(ring, headers, browser and needed in ("metrics", ANY))
        if key is None:
            self._count("", "unauthorized")
            return Refusal(401, "unauthorized", _NO_KEY, _CHALLENGE)
        if not key.allows(needed):
            self._count(key.id, "forbidden")
            challenge = f'{_CHALLENGE}, error="insufficient_scope", scope="{needed}"'
            message = f"the key {key.id!r} lacks the {needed!r} scope this route needs"
            return Refusal(403, "forbidden", message, challenge)
        return key

    async def _limited(
        self, key: Key, limited: tuple[Bucket, int], scope: Scope, receive: Receive, send: Send
    ) -> None:
        bucket, cap = limited
        if self.shared is not None:
            ticket = await self.shared.acquire(key.id, bucket.rate, int(bucket.size), cap)
            if ticket is not None:  # None: Redis is unreachable, the bucket in memory decides
                return await self._shared_admit(self.shared, ticket, key, scope, receive, send)
        wait = bucket.take(self.limiter.clock())
        if not wait and cap and bucket.in_flight >= cap:
            wait = 1.0
        if wait:
            return await self._over(key, wait, scope, send)
        self._count(key.id, "ok")
        bucket.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            bucket.in_flight -= 1

    async def _shared_admit(
        self,
        shared: SharedLimiter,
        ticket: Ticket,
        key: Key,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """The decision Redis made for every process; the answer ends the in-flight lease."""
        if ticket.wait:
            return await self._over(key, ticket.wait, scope, send)
        self._count(key.id, "ok")
        try:
            await self.app(scope, receive, send)
        finally:
            await shared.release(ticket)

    async def _over(self, key: Key, wait: float, scope: Scope, send: Send) -> None:
        self._count(key.id, "limited")
        retry = str(max(1, math.ceil(wait)))
        message = f"the key {key.id!r} is over its rate limit; retry in {retry}s"
        await _refuse(scope, send, Refusal(429, "rate_limited", message, retry_after=retry))

    def _count(self, key_id: str, outcome: str) -> None:
        if self.counted is None:
            return
        child = self._children.get((key_id, outcome))
        if child is None:  # labels() costs microseconds: resolve each series once
            child = self._children[key_id, outcome] = self.counted.labels(key_id, outcome)
        child.inc()

    def _headed(self, scope: Scope, send: Send) -> Send:
        """Security headers on every GET answer; the OpenAPI document gets its security scheme."""
        if scope["path"] == OPENAPI_PATH:
            return _documenting(send, self.rules, self.keys is not None)

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_headers(message.get("headers", []))
            await send(message)

        return headed


_CHALLENGE = 'Bearer realm="dockyard"'
_NO_KEY = "an API key is needed: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


def _caller_key(ring: KeyRing, headers: Iterable[tuple[bytes, bytes]], cookie: bool) -> Key | None:
    """By the key header; else, where allowed, by the status page's session cookie."""
    presented = _presented(headers)
    if presented or not cookie:
        return ring.find(presented)
    token = session.from_cookies(headers)
    return session.verify(ring, token) if token else None


def _presented(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == _BEARER:
            return value[7:].strip()
        if name == b"x-api-key":
            return value.strip()
    return b""


def _with_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = [*headers, _NOSNIFF]
    if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
        out.extend(_HTML_HEADERS)
    return out


def _documenting(send: Send, rules: Rules, enabled: bool) -> Send:
    """Hold the OpenAPI answer back, add the security scheme, then send it."""
    start: Message = {}
    chunks: list[bytes] = []

    async def documenting(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        if start.get("status") == 200:
            body = to_json(secured(_loads(body), rules, enabled))
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        headers += [(b"content-length", str(len(body)).encode()), _NOSNIFF]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return documenting


def _loads(body: bytes) -> dict[str, Any]:
    from pydantic_core import from_json

    doc: dict[str, Any] = from_json(body)
    return doc


@dataclass(frozen=True)
class Refusal:
    """A 401, 403 or 429 answer: the JSON error body and its challenge or Retry-After header."""

    status: int
    kind: str
    message: str
    challenge: str | None = None
    retry_after: str | None = None

    def body(self, request_id: str) -> bytes:
        error = {"type": self.kind, "message": self.message, "request_id": request_id}
        return to_json({"error": error})

    def headers(self, body: bytes, request_id: str) -> list[tuple[bytes, bytes]]:
        raw = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            _NOSNIFF,
        ]
        if self.challenge:
            raw.append((b"www-authenticate", self.challenge.encode()))
        if self.retry_after:
            raw.append((b"retry-after", self.retry_after.encode()))
        return raw


async def _answer(send: Send, answer: login.Answer) -> None:
    status, headers, body = answer
    headers = _with_headers([*headers, (b"content-length", str(len(body)).encode())])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, refusal: Refusal) -> None:
    request_id = request_id_of(scope)
    body = refusal.body(request_id)
    headers = refusal.headers(body, request_id)
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
