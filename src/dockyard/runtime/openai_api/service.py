"""The OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/embeddings, models.

Chat and completions feed the generation engine (so they are continuously batched and a gone
client's sequence is cancelled); embeddings go through the ordinary batcher of a model whose
input is text and output a vector. Streams follow OpenAI's SSE: chunks, then `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.runtime.batching import QueueFull
from dockyard.runtime.contract import GenerativeModel, join_chunks, strip_annotated
from dockyard.runtime.generate import transport
from dockyard.runtime.generate.params import to_params
from dockyard.runtime.generate.process import ProcessRunner
from dockyard.runtime.generate.sequence import GenerationFailed, Sequence
from dockyard.runtime.generate.service import GenerationService
from dockyard.runtime.http import HTTPError, Receive, Scope, Send, read_body, send_bytes
from dockyard.runtime.limits import body_limit
from dockyard.runtime.openai_api.schemas import (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    OpenAIError,
    Sampling,
    invalid,
)
from dockyard.runtime.runner import ModelRunner
from dockyard.runtime.service import Service

R = TypeVar("R", bound=BaseModel)
DONE = b"data: [DONE]\n\n"
Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]


class OpenAIService:
    """OpenAI's API shapes over the service's model (routes only; nothing to start)."""

    def __init__(self, service: Service, generation: GenerationService | None) -> None:
        self.service, self.generation = service, generation
        self.text = service.signature.chunk_type is str
        self.limit = body_limit(service.spec.serving, service.signature.input_type)
        self.created = int(time.time())
        self.routes: list[BaseRoute] = [
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),
            Route("/v1/chat/completions", _Asgi(self.chat), methods=["POST"]),
            Route("/v1/completions", _Asgi(self.completions), methods=["POST"]),
            Route("/v1/embeddings", _Asgi(self.embeddings), methods=["POST"]),
        ]

    async def startup(self) -> None:
        """Nothing to start: the routes use the service's batcher and generation engine."""

    async def shutdown(self) -> None:
        """Nothing to stop."""

    @property
    def name(self) -> str:
        return self.service.spec.model_name

    # ---- models ----------------------------------------------------------------------------
    def _card(self) -> dict[str, Any]:
        return {"id": self.name, "object": "model", "created": self.created, "owned_by": "dockyard"}

    async def models(self, _: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._card()]})

    async def model(self, request: Request) -> Response:
        try:
            self._check_model(request.path_params["model"])
        except OpenAIError as exc:
            return Response(exc.body(), exc.status, media_type="application/json")
        return JSONResponse(self._card())

    def _check_model(self, model: str) -> None:
        if model != self.name:
            raise OpenAIError(
                404,
                f"The model `{model}` does not exist; this server serves `{self.name}`",
                param="model",
                code="model_not_found",
            )

    # ---- chat and completions --------------------------------------------------------------
    async def chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /v1/chat/completions (stream true or false)."""
        request = await self._parse(scope, receive, ChatRequest)
        runner = self._generator(request.model)
        messages = [{"role": m.role, "content": m.text()} for m in request.messages]
        if isinstance(runner, ProcessRunner):
            item = await runner.chat_prompt(messages)
        else:
            item = _generative(runner).chat_prompt(messages)
        await self._generate(request, request.limit, item, _Chat(self.name), receive, send)

    async def completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /v1/completions (stream true or false)."""
        request = await self._parse(scope, receive, CompletionRequest)
        self._generator(request.model)
        item = request.text()
        await self._generate(request, request.max_tokens, item, _Text(self.name), receive, send)

    def _generator(self, model: str) -> ModelRunner | ProcessRunner:
        """The served model when it is a text generator (else a 404 saying what it is)."""
        self._check_model(model)
        sig = self.service.signature
        runner = self.service.runner
        if self.generation is None or sig.chunk_type is not str:
            raise OpenAIError(
                404,
                f"`{self.name}` is not a text generator (its chunks must be str); "
                "use /predict or /v1/embeddings",
                code="unsupported_model",
            )
        if runner is None:
            raise OpenAIError(503, "the model is still loading; retry", "server_error")
        return runner

    async def _generate(
        self,
        request: Sampling,
        limit: int | None,
        item: Any,
        shape: _Shape,
        receive: Receive,
        send: Send,
    ) -> None:
        assert self.generation is not None
        try:
            item = self.service.signature.inputs.validate_python(item)
        except ValidationError as exc:  # the model's input type: blame the prompt, not "None"
            raise invalid(exc, shape.prompt) from None
        try:
            params = to_params(
                self.generation.defaults, limit, request.temperature, request.seed, request.stop
            )
            seq = self.generation.submit(item, params, shape.id)
        except ValidationError as exc:
            raise invalid(exc) from None
        except ValueError as exc:
            raise OpenAIError(400, str(exc), param="stop") from None
        except HTTPError as exc:
            raise _from_http(exc) from None
        prompt = await self._prompt_tokens(item)
        if request.stream:
            framing = shape.framing(prompt, request.include_usage)
            engine = self.generation.engine
            await transport.stream(engine, seq, framing, receive, send, shape.id)
            return
        chunks = await _collected(self.generation, seq, receive)
        body = shape.whole(join_chunks(chunks, self.text), seq, prompt)
        await send_bytes(send, 200, to_json(body), shape.id)

    async def _prompt_tokens(self, item: Any) -> int:
        runner = self.service.runner
        if isinstance(runner, ProcessRunner):
            return await runner.prompt_tokens(item)
        model = runner.model if runner is not None else None
        return model.prompt_tokens(item) if isinstance(model, GenerativeModel) else 0

    # ---- embeddings ------------------------------------------------------------------------
    async def embeddings(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /v1/embeddings for a model whose input is text and output a vector."""
        request = await self._parse(scope, receive, EmbeddingRequest)
        self._check_model(request.model)
        if not _embeds(self.service):
            raise OpenAIError(
                404, f"`{self.name}` does not produce embeddings", code="unsupported_model"
            )
        vectors = await self._predict(request.texts())
        data = [
            {"object": "embedding", "index": i, "embedding": _encoded(v, request.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t.split()) for t in request.texts())
        body = {
            "object": "list",
            "data": data,
            "model": self.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        await send_bytes(send, 200, to_json(body), "")

    async def _predict(self, texts: list[str]) -> list[list[float]]:
        sig = self.service.signature
        try:
            items = [sig.inputs.validate_python(t) for t in texts]
        except ValidationError as exc:
            raise OpenAIError(400, f"input: {exc.errors()[0]['msg']}", param="input") from None
        ready, reason = self.service.readiness()
        if not ready:
            raise OpenAIError(503, reason, "server_error")
        try:
            futures = self.service.batcher.submit(items, "openai")
        except QueueFull as exc:
            raise OpenAIError(503, f"server is at capacity: {exc}", "server_error") from None
        timeout = self.service.spec.serving.timeout_s
        try:
            return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))
        except TimeoutError:
            raise OpenAIError(504, f"no answer within {timeout}s", "server_error") from None
        except Exception as exc:
            raise OpenAIError(500, f"{type(exc).__name__}: {exc}", "server_error") from None

    # ---- shared ----------------------------------------------------------------------------
    async def _parse(self, scope: Scope, receive: Receive, shape: type[R]) -> R:
        try:
            body = await read_body(
                scope,
                receive,
                body_limit(self.service.spec.serving, self.service.signature.input_type),
            )
        except HTTPError as exc:
            raise _from_http(exc) from None
        try:
            return shape.model_validate_json(body)
        except ValidationError as exc:
            raise invalid(exc) from None


class _Shape:
    """OpenAI's response objects for one endpoint (chat or text completions)."""

    prefix = ""
    kind = ""
    prompt = ""  # the request field the model's input comes from

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = f"{self.prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def head(self, suffix: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "object": self.kind + suffix,
            "created": self.created,
            "model": self.model,
        }

    def choice(self, content: str, finish: str | None, delta: bool) -> dict[str, Any]:
        raise NotImplementedError

    def whole(self, text: str, seq: Sequence, prompt: int) -> dict[str, Any]:
        choice = self.choice(text, seq.finish_reason, delta=False)
        return {**self.head(), "choices": [choice], "usage": _usage(prompt, seq.produced)}

    def framing(self, prompt: int, include_usage: bool) -> transport.Framing:
        suffix = ".chunk" if self.kind == "chat.completion" else ""

        def event(choices: list[dict[str, Any]], **more: Any) -> bytes:
            return transport.sse({**self.head(suffix), "choices": choices, **more})

        def end(seq: Sequence) -> bytes:
            last = event([self.choice("", seq.finish_reason, delta=True)])
            if include_usage:
                last += event([], usage=_usage(prompt, seq.produced))
            return last + DONE

        def error(exc: GenerationFailed) -> bytes:
            return transport.sse({"error": _failure(exc).payload()["error"]}) + DONE

        return transport.Framing(
            transport.SSE,
            lambda c: event([self.choice(c, None, delta=True)]),
            end,
            error,
            self.start(event),
        )

    def start(self, event: Callable[..., bytes]) -> bytes:
        return b""


class _Chat(_Shape):
    prefix, kind, prompt = "chatcmpl", "chat.completion", "messages"

    def choice(self, content: str, finish: str | None, delta: bool) -> dict[str, Any]:
        if delta:
            body = {"content": content} if content or finish is None else {}
            return {"index": 0, "delta": body, "finish_reason": finish, "logprobs": None}
        message = {"role": "assistant", "content": content}
        return {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}

    def start(self, event: Callable[..., bytes]) -> bytes:
        role = {"role": "assistant", "content": ""}
        return bytes(event([{"index": 0, "delta": role, "finish_reason": None, "logprobs": None}]))


class _Text(_Shape):
    prefix, kind, prompt = "cmpl", "text_completion", "prompt"

    def choice(self, content: str, finish: str | None, delta: bool) -> dict[str, Any]:
        return {"index": 0, "text": content, "finish_reason": finish, "logprobs": None}


class _Asgi:
    """An endpoint as an ASGI app; OpenAIError refusals become OpenAI-shaped JSON."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.endpoint(scope, receive, send)
        except OpenAIError as exc:
            await send_bytes(send, exc.status, exc.body(), "")


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _failure(exc: GenerationFailed) -> OpenAIError:
    status = 504 if exc.kind == "timeout" else 500
    return OpenAIError(status, exc.message, "server_error", code=exc.kind)


def _from_http(exc: HTTPError) -> OpenAIError:
    kind = "server_error" if exc.status >= 500 else "invalid_request_error"
    return OpenAIError(exc.status, exc.message, kind, code=exc.kind)


async def _collected(generation: GenerationService, seq: Sequence, receive: Receive) -> list[Any]:
    try:
        return await transport.collect(generation.engine, seq, receive)
    except GenerationFailed as exc:
        raise _failure(exc) from None


def _embeds(service: Service) -> bool:
    """A model whose input is text and whose output is a list of floats."""
    sig = service.signature
    return (
        not sig.generative
        and strip_annotated(sig.input_type) is str
        and strip_annotated(sig.output_type) == list[float]
    )


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _generative(runner: ModelRunner) -> GenerativeModel[Any, Any, Any]:
    assert isinstance(runner.model, GenerativeModel), "checked by _generator's signature test"
    return runner.model
