"""Streams a sequence over HTTP: Server-Sent Events or newline-delimited JSON, as plain ASGI.

Every buffered chunk goes out in one write; a client that disconnects cancels its sequence at
once (it gets no further model step), and the response always ends with a final event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from dockyard.runtime.generate.engine import Engine
from dockyard.runtime.generate.sequence import GenerationFailed, Sequence
from dockyard.runtime.http import Receive, Send

SSE = "text/event-stream"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Framing:
    """How one stream is written: the content type and the bytes of each kind of event."""

    content_type: str
    chunk: Callable[[Any], bytes]
    end: Callable[[Sequence], bytes]
    error: Callable[[GenerationFailed], bytes]
    start: bytes = b""  # sent before the first chunk (e.g. OpenAI's role delta)


def sse(payload: Any, event: str | None = None) -> bytes:
    """One Server-Sent Event carrying `payload` as JSON (or a raw string such as [DONE])."""
    data = payload.encode() if isinstance(payload, str) else to_json(payload)
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + data + b"\n\n"


def ndjson(payload: Any) -> bytes:
    return to_json(payload) + b"\n"


def error_body(exc: GenerationFailed) -> dict[str, Any]:
    return {"error": {"type": exc.kind, "message": exc.message}}


def end_body(seq: Sequence) -> dict[str, Any]:
    return {"finish_reason": seq.finish_reason, "chunks": seq.produced}


def native(content_type: str) -> Framing:
    """Dockyard's own stream: `{"chunk": ...}` events, then an `end` (or `error`) event."""
    if content_type == NDJSON:
        return Framing(
            NDJSON,
            lambda c: ndjson({"chunk": c}),
            lambda s: ndjson(end_body(s)),
            lambda e: ndjson(error_body(e)),
        )
    return Framing(
        SSE,
        lambda c: sse({"chunk": c}),
        lambda s: sse(end_body(s), "end"),
        lambda e: sse(error_body(e), "error"),
    )


def wants(headers: list[tuple[bytes, bytes]]) -> str:
    """NDJSON when the client's Accept asks for it, else Server-Sent Events."""
    for name, value in headers:
        if name == b"accept" and NDJSON.encode() in value:
            return NDJSON
    return SSE


async def stream(
    engine: Engine,
    seq: Sequence,
    framing: Framing,
    receive: Receive,
    send: Send,
    request_id: str,
) -> None:
    """Send the sequence's chunks as they come; cancel it when the client goes away."""
    headers = [
        (b"content-type", framing.content_type.encode()),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),  # proxies such as nginx must not hold the stream back
        (b"x-request-id", request_id.encode()),
    ]
    watcher = asyncio.create_task(watch_disconnect(receive, engine, seq))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await _pump(seq, framing, send)
    finally:
        watcher.cancel()
        engine.cancel(seq, "disconnect")  # a no-op once ended; covers a send that raised


async def _pump(seq: Sequence, framing: Framing, send: Send) -> None:
    head = framing.start
    try:
        async for batch in seq.batches():
            body = head + b"".join(framing.chunk(c) for c in batch)
            head = b""
            await send({"type": "http.response.body", "body": body, "more_body": True})
        tail = framing.end(seq)
    except GenerationFailed as exc:
        tail = framing.error(exc)
    await send({"type": "http.response.body", "body": head + tail, "more_body": False})


async def watch_disconnect(receive: Receive, engine: Engine, seq: Sequence) -> None:
    """Cancel the sequence when the client disconnects (the body was read already)."""
    with contextlib.suppress(asyncio.CancelledError):
        while (await receive())["type"] != "http.disconnect":
            pass
        engine.cancel(seq, "disconnect")


async def collect(engine: Engine, seq: Sequence, receive: Receive) -> list[Any]:
    """Every chunk of a sequence, for a non-streamed answer; cancelled if the client leaves."""
    watcher = asyncio.create_task(watch_disconnect(receive, engine, seq))
    try:
        return [c async for batch in seq.batches() for c in batch]
    finally:
        watcher.cancel()
        engine.cancel(seq, "disconnect")
