"""The generation parameters a client may send, validated into GenerationParams."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dockyard.runtime.contract import GenerationParams

MAX_STOPS = 4


class Parameters(BaseModel):
    """`parameters` of a /generate request (unset values take the model's defaults)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None

    def resolve(self, defaults: GenerationParams) -> GenerationParams:
        return to_params(defaults, self.max_tokens, self.temperature, self.seed, self.stop)


def to_params(
    defaults: GenerationParams,
    max_tokens: int | None,
    temperature: float | None,
    seed: int | None,
    stop: str | list[str] | None,
) -> GenerationParams:
    """Merge what a client sent over the model's defaults (ValueError on too many stops)."""
    stops = [stop] if isinstance(stop, str) else list(stop or defaults.stop)
    if len(stops) > MAX_STOPS:
        raise ValueError(f"at most {MAX_STOPS} stop sequences (got {len(stops)})")
    return GenerationParams(
        max_tokens=max_tokens if max_tokens is not None else defaults.max_tokens,
        temperature=temperature if temperature is not None else defaults.temperature,
        seed=seed if seed is not None else defaults.seed,
        stop=tuple(stops),
    )
