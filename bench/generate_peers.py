"""The peers of bench/generate.py, serving examples/generate's CharLM the same way.

    python bench/generate_peers.py fastapi PORT    one generation per request (StreamingResponse)
    python bench/generate_peers.py litserve PORT   LitServe stream=True with its batching

Both stream `data: {"chunk": "c"}` events, one per character, like Dockyard's /generate_stream.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "generate"
sys.path.insert(0, str(EXAMPLE))

from model import CharLM  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from dockyard.runtime.contract import GenerationParams  # noqa: E402


def load() -> CharLM:
    model = CharLM()
    model.artifacts = {"weights": EXAMPLE / "artifacts" / "charlm.pt"}
    model.setup()
    return model


class Body(BaseModel):
    """The peers' request (module level: FastAPI resolves the string annotation here)."""

    input: str
    max_tokens: int = 64


def event(chunk: str) -> str:
    return f"data: {json.dumps({'chunk': chunk})}\n\n"


def fastapi_app() -> Any:
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    model = load()
    lock = threading.Lock()  # the model's key/value cache is shared: one call at a time
    app = FastAPI()

    @app.post("/generate_stream")
    def generate(body: Body) -> StreamingResponse:
        def tokens() -> Iterator[str]:
            with lock:
                seq = model.start(body.input, GenerationParams(max_tokens=body.max_tokens))
            try:
                for _ in range(body.max_tokens):
                    with lock:
                        chunk = model.step([seq])[0]
                    yield event(chunk or "")
            finally:
                with lock:
                    model.release(seq)

        return StreamingResponse(tokens(), media_type="text/event-stream")

    return app


try:  # only the peer's venv has LitServe; its worker process must find the class by name
    import litserve as ls
except ImportError:
    ls = None

if ls is not None:

    class CharAPI(ls.LitAPI):  # type: ignore[misc]
        def setup(self, device: str) -> None:
            self.model = load()

        # Unannotated: LitServe reads these hints (strings here) as the request/response types.
        def decode_request(self, request):  # type: ignore[no-untyped-def]
            return request["input"], int(request.get("max_tokens", 64))

        def predict(self, inputs: list[tuple[str, int]]) -> Iterator[list[str]]:
            states = [self.model.start(p, GenerationParams(max_tokens=n)) for p, n in inputs]
            try:
                for _ in range(max(n for _, n in inputs)):  # a batch runs until its longest ends
                    yield [c or "" for c in self.model.step(states)]
            finally:
                for state in states:
                    self.model.release(state)

        def encode_response(self, outputs):  # type: ignore[no-untyped-def]
            for batch in outputs:
                yield [event(c) for c in batch]


def litserve_server(port: int) -> None:
    if ls is None:
        raise SystemExit("pip install litserve")
    api = CharAPI(max_batch_size=64, batch_timeout=0.01, stream=True, api_path="/generate_stream")
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, timeout=120)
    server.run(port=port, host="127.0.0.1", generate_client_file=False)


def main() -> None:
    os.environ.setdefault("TORCH_THREADS", "1")
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "fastapi":
        import uvicorn

        uvicorn.run(fastapi_app(), host="127.0.0.1", port=port, log_level="warning")
    elif kind == "litserve":
        litserve_server(port)
    else:
        raise SystemExit(f"unknown peer {kind!r}: fastapi or litserve")


if __name__ == "__main__":
    main()
