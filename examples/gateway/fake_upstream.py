"""A fake OpenAI-compatible upstream for trying the gateway offline (and for its tests).

It checks the bearer key, streams `count` words 20 ms apart, and records each stream's fate:
"done" when it sent everything, "gone" when the client hung up first.

    python fake_upstream.py 8765 secret-key
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DELAY_S = 0.02


class FakeUpstream:
    """The upstream app and what it saw."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.fates: dict[str, str] = {}
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/fates", self.report),
            ]
        )

    async def report(self, _: Request) -> Response:
        return JSONResponse({"fates": self.fates, "bodies": self.bodies})

    async def chat(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            error = {"message": "Incorrect API key provided", "type": "invalid_request_error",
                     "param": None, "code": "invalid_api_key"}  # fmt: skip
            return JSONResponse({"error": error}, 401)
        body = await request.json()
        self.bodies.append(body)
        prompt = body["messages"][-1]["content"]
        count = min(int(body.get("max_tokens") or 16), 10_000)
        return StreamingResponse(self.stream(prompt, count), media_type="text/event-stream")

    async def stream(self, prompt: str, count: int) -> Any:
        self.fates[prompt] = "streaming"
        try:
            for i in range(count):
                if i:
                    await asyncio.sleep(DELAY_S)
                chunk = {"id": "up", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": "up", "choices": [{"index": 0, "delta": {"content": f"w{i} "},
                                                     "finish_reason": None}]}  # fmt: skip
                yield f"data: {json.dumps(chunk)}\n\n"
            self.fates[prompt] = "done"  # everything asked for was sent
            yield "data: [DONE]\n\n"
        except (asyncio.CancelledError, GeneratorExit):
            self.fates[prompt] = "gone"
            raise


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(FakeUpstream(sys.argv[2]).app, host="127.0.0.1", port=int(sys.argv[1]))
