"""OpenAI's request shapes (the fields Dockyard honours) and its error shape.

Unknown fields are ignored, as clients send many optional ones; those that would change the
answer but are not supported (n > 1, non-text content) are refused with a clear 400.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json


class OpenAIError(Exception):
    """An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = (
            status,
            message,
            kind,
            param,
            code,
        )

    def payload(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }

    def body(self) -> bytes:
        return to_json(self.payload())


def invalid(exc: ValidationError, under: str = "") -> OpenAIError:
    """The first validation problem as OpenAI's 400 naming the parameter (`under` names the
    request field a value validated on its own came from)."""
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    param = ".".join(str(p) for p in [under, *first["loc"]] if p != "") or None
    if first["type"] == "json_invalid":
        return OpenAIError(400, f"the body is not valid JSON: {first['msg']}")
    message = f"{param}: {first['msg']}" if param else str(first["msg"])
    return OpenAIError(400, message, param=param)


class Request(BaseModel):
    # built on the first /v1 request, not at start-up: most services never get one
    model_config = ConfigDict(extra="ignore", defer_build=True)


class StreamOptions(Request):
    include_usage: bool = False


class Sampling(Request):
    """What chat and completions requests share."""

    model: str
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class TextPart(Request):
    type: Literal["text"]
    text: str


class ChatMessage(Request):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content)
        return self.content or ""


class ChatRequest(Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(Sampling):
    prompt: str | list[str]

    def text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise OpenAIError(400, "send one prompt per request", param="prompt")
        return self.prompt[0]


class EmbeddingRequest(Request):
    model: str
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input
