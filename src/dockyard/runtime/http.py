"""Small ASGI helpers for the hot path: bounded body reads, JSON replies, errors as data."""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
# A random per-process prefix plus a counter: unique ids without a syscall per request.
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)
JSON_HEADERS = [(b"content-type", b"application/json")]


class HTTPError(Exception):
    """An error answered as `{"error": {"type", "message", ...}, ...}` with its status.

    Every route of the runtime (hot paths, jobs, pipeline) refuses with this one shape:
    `details` go inside "error" (e.g. which inputs failed), `extra` sits beside it (e.g. the
    pipeline item a failure belongs to), and a request id is added when there is one.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        details: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.headers = headers or {}
        self.details, self.extra = details, extra or {}

    def payload(self, request_id: str = "") -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        if request_id:
            error["request_id"] = request_id
        return {"error": error, **self.extra}

    def body(self, request_id: str) -> bytes:
        return to_json(self.payload(request_id))

    def response(self) -> Response:
        """The same error as a Starlette response, for framework routes."""
        return Response(to_json(self.payload()), self.status, self.headers, "application/json")


Handler = Callable[[Request], Awaitable[Response]]


def answers_errors(handler: Handler) -> Handler:
    """Let a Starlette handler refuse by raising HTTPError."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HTTPError as exc:
            return exc.response()

    return wrapped


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane, else a fresh random id."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _REQUEST_ID.match(value):
            return str(value.decode("ascii"))
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing (413) as soon as it exceeds `limit` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(499, "client_gone", "the client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def too_large(limit: int) -> HTTPError:
    return HTTPError(
        413, "body_too_large", f"the request body exceeds {limit} bytes (serving.max_body_bytes)"
    )


async def send_bytes(
    send: Send, status: int, body: bytes, request_id: str, headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON response with its request id."""
    raw = [
        *JSON_HEADERS,
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    if headers:
        raw.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
