"""Model-as-service: versions behind a router with A/B weights, canary, sticky keys and shadow."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dockyard.spec.base import Section
from dockyard.spec.serving import Tolerance

# A version name becomes a Compose service name, a metric label and an env var suffix.
_VERSION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class Version(Section):
    """One deployed model version and its share of traffic (a canary is a small share)."""

    name: str = Field(description="Version name: Compose service, metric label, env suffix")
    path: str | None = Field(default=None, description="Project directory of this version")
    url: str | None = Field(default=None, description="Where the version already runs")
    weight: float = Field(default=0.0, ge=0, description="Relative share of traffic")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _VERSION_NAME.match(value):
            raise ValueError("lowercase letters, digits, '_' or '-' (at most 31), e.g. 'v2'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("an http(s) URL such as 'http://digits-v2:8000'")
        return value.rstrip("/") if value else value

    @property
    def url_env(self) -> str:
        """The variable that gives this version's URL to the router (DOCKYARD_VERSION_URL_V2)."""
        return "DOCKYARD_VERSION_URL_" + self.name.upper().replace("-", "_")

    @model_validator(mode="after")
    def _one_place(self) -> Version:
        if (self.path is None) == (self.url is None):
            raise ValueError(f"version {self.name!r}: exactly one of path or url")
        return self


class Router(Section):
    """Traffic policy in front of the versions.

    Weights are relative (90 and 10 mean 90% and 10%). `balance = "round_robin"` spreads requests
    by smooth weighted round robin, so any window of N requests matches the weights to within one
    request per version; `"random"` draws them (reproducibly when `seed` is set). A request
    carrying `sticky_header` always goes to the same version while the weights and the set of
    ready versions stay the same (weighted rendezvous hashing of the header's value).
    """

    enabled: bool = Field(default=False, description="Run the router in front of the versions")
    versions: tuple[Version, ...] = Field(default=(), description="The versions behind the router")
    shadow: str | None = Field(default=None, description="Version that gets a copy of traffic")
    sticky_header: str | None = Field(
        default=None,
        description="Requests with the same value of this header go to the same version",
    )
    balance: Literal["round_robin", "random"] = Field(
        default="round_robin", description="round_robin (smooth weighted) or random"
    )
    seed: int | None = Field(default=None, description="Seed of balance = 'random'")
    shadow_tolerance: Tolerance = Field(
        default=Tolerance(atol=1e-4, rtol=1e-3),
        description="How close shadow answers must be to count as matching",
    )
    shadow_fields: tuple[str, ...] = Field(
        default=(), description="Output fields compared (e.g. 'label'); empty = whole outputs"
    )
    shadow_concurrency: int = Field(
        default=16, ge=1, le=10_000, description="Shadow requests in flight; more are dropped"
    )
    health_interval_s: float = Field(
        default=2.0, gt=0, le=3600, description="How often each version's /readyz is probed"
    )
    health_timeout_s: float = Field(default=2.0, gt=0, le=60, description="Per /readyz probe")
    timeout_s: float = Field(default=30.0, gt=0, description="Per forwarded request")
    retry: bool = Field(
        default=False,
        description="Retry once on another version after a 5xx or refused connection",
    )
    weights_file: str | None = Field(
        default=None, description="JSON {name: weight}, reloaded when it changes"
    )
    weights_poll_s: float = Field(
        default=1.0, gt=0, le=3600, description="How often weights_file is checked"
    )
    admin_token_secret: str | None = Field(
        default=None, description="Secret whose value PUT /admin/weights requires as Bearer token"
    )

    @field_validator("versions")
    @classmethod
    def _versions(cls, value: tuple[Version, ...]) -> tuple[Version, ...]:
        names = [v.name for v in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"unique version names (repeated: {', '.join(duplicates)})")
        if value and sum(v.weight for v in value) <= 0:
            raise ValueError("at least one version with a weight above 0")
        return value

    @field_validator("sticky_header")
    @classmethod
    def _header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError("an HTTP header name such as 'X-User-ID'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Router:
        problems = []
        if self.enabled and not self.versions:
            problems.append("at least one [[router.versions]] when the router is enabled")
        if self.shadow is not None and self.shadow not in {v.name for v in self.versions}:
            problems.append(f"shadow {self.shadow!r} to name one of the versions")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def version(self, name: str) -> Version:
        """The version called `name` (KeyError when there is none)."""
        for candidate in self.versions:
            if candidate.name == name:
                return candidate
        raise KeyError(name)
