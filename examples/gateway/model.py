"""A gateway: proxies an OpenAI-compatible upstream, streaming, with cancellation passed on.

Settings, read when the model starts (not at import):
- OPENAI_BASE_URL   the upstream's base URL, e.g. https://api.openai.com/v1 (set it in the
                    spec's [env] table; the process environment overrides it)
- OPENAI_MODEL      the upstream model name (default gpt-4o-mini)
- the API key: the secret file /run/secrets/openai_api_key (`secrets = ["openai_api_key"]` in
  the spec mounts it); OPENAI_API_KEY_FILE names another file for local runs. Never an env value.

Each sequence's upstream stream is opened and read by its own thread into a queue; a step hands
every sequence what arrived since the last step ("" = nothing yet, an exception = its upstream
failed). When a client disconnects, its
sequence is released and the upstream response is closed, so the upstream stops generating too.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dockyard import GenerationParams, GenerativeModel

SECRET_FILE = "/run/secrets/openai_api_key"
WAIT_S = 0.05  # how long a step waits for the upstream when no sequence has news
END = object()


class UpstreamError(Exception):
    """The upstream refused a request (its status and message are kept)."""


@dataclass(eq=False)
class Upstream:
    """One proxied generation: the open upstream response and what its reader has queued."""

    response: httpx.Response | None = None
    pieces: queue.Queue[Any] = field(default_factory=queue.Queue)
    closed: bool = False


class Gateway(GenerativeModel[str, str, str]):
    def setup(self) -> None:
        base = os.environ.get("OPENAI_BASE_URL")
        if not base:
            raise RuntimeError("set OPENAI_BASE_URL (the spec's [env] table) to the upstream")
        key_file = Path(os.environ.get("OPENAI_API_KEY_FILE", SECRET_FILE))
        if not key_file.is_file():
            raise RuntimeError(f"the upstream API key is missing: mount it at {key_file}")
        key = key_file.read_text().strip()
        self.model_name = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
        self.client = httpx.Client(
            base_url=base.rstrip("/"),
            headers={"authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(30.0, read=None),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        self.news = threading.Event()

    def start(self, item: str, params: GenerationParams) -> Upstream:
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": "user", "content": item}],
            "stream": True,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        upstream = Upstream()
        # Connecting waits for the upstream's first byte: do it off the model thread.
        threading.Thread(target=self._read, args=(upstream, body), daemon=True).start()
        return upstream

    def _read(self, upstream: Upstream, body: dict[str, Any]) -> None:
        """Open the upstream stream and queue each content delta, then END (or the error)."""
        try:
            with self.client.stream("POST", "/chat/completions", json=body) as response:
                upstream.response = response
                if response.status_code != 200:
                    detail = response.read().decode(errors="replace")[:500]
                    upstream.pieces.put(
                        UpstreamError(f"upstream answered {response.status_code}: {detail}")
                    )
                    return
                for line in response.iter_lines():
                    if upstream.closed:
                        return
                    self._queue_delta(upstream, line)
        except (httpx.HTTPError, ValueError) as exc:
            if not upstream.closed:
                upstream.pieces.put(UpstreamError(f"upstream failed: {exc}"))
        finally:
            upstream.pieces.put(END)
            self.news.set()

    def _queue_delta(self, upstream: Upstream, line: str) -> None:
        if not line.startswith("data: ") or line == "data: [DONE]":
            return
        choices = json.loads(line[len("data: ") :]).get("choices") or [{}]
        text = (choices[0].get("delta") or {}).get("content")
        if text:
            upstream.pieces.put(text)
            self.news.set()

    def step(self, states: list[Upstream]) -> list[str | Exception | None]:
        self.news.clear()
        if all(s.pieces.empty() for s in states):
            self.news.wait(WAIT_S)
        return [_drain(s) for s in states]

    def release(self, state: Upstream) -> None:
        """The sequence left (finished or cancelled): close the upstream stream."""
        state.closed = True
        if state.response is not None:
            state.response.close()

    def prompt_tokens(self, item: str) -> int:
        return len(item.split())

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        return messages[-1]["content"]


def _drain(upstream: Upstream) -> str | Exception | None:
    text: list[str] = []
    while not upstream.pieces.empty():
        piece = upstream.pieces.get_nowait()
        if isinstance(piece, Exception):
            return piece  # fails this sequence only
        if piece is END:
            upstream.pieces.put(END)  # stay ended for the next step
            return "".join(text) or None
        text.append(piece)
    return "".join(text)
