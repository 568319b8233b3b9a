"""Staged environments: `[environments.NAME]` overlays what differs, everything else is shared.

An environment names only its differences, as partial tables of the spec (`serving`,
`resources`, `worker`, `stack`, `swarm`, `auth`, `env`), plus how a new version is rolled out
there. The spec of an environment is the project's spec with those tables merged in and
validated again, so a typo in an overlay is reported like any spec error
(`environments.prod.stack.api_port`) and the set of declared differences is exactly what
`dockyard env diff` may show between two environments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from dockyard.spec.base import Section

# The tables an environment may change; the model, its dependencies and artifacts never differ
# between environments (that is what "the same digest" promises).
OVERLAYS = ("serving", "resources", "worker", "stack", "swarm", "auth", "env")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class Rollout(Section):
    """How a new digest replaces the running one: canary steps judged on live traffic.

    At each step the new version gets `steps[i]` percent of requests for `step_s` seconds; if its
    error rate exceeds `max_error_rate`, or its p95 latency exceeds `max_p95_ms`, traffic goes
    back to the old version and the new one is removed (an aborted rollout changes nothing).
    """

    steps: tuple[float, ...] = Field(default=(10.0, 50.0), description="Canary shares in percent")
    step_s: float = Field(default=10.0, ge=0, le=3600, description="Seconds each step is watched")
    max_error_rate: float = Field(default=0.01, ge=0, le=1, description="5xx share that aborts")
    max_p95_ms: float | None = Field(default=None, gt=0, description="p95 bound that aborts")
    drain_s: float = Field(default=5.0, ge=0, le=3600, description="Old version's drain time")

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < s < 100 for s in value) or list(value) != sorted(value):
            raise ValueError("increasing percentages between 0 and 100, e.g. [10, 50]")
        return value


class Environment(Section):
    """One environment: its differences from the shared spec and its rollout policy."""

    url: str | None = Field(
        default=None, description="Where the gate reaches it; default the published port"
    )
    rollout: Rollout = Field(default=Rollout(), description="How a new version replaces the old")
    serving: dict[str, Any] = Field(default_factory=dict, description="[serving] keys changed")
    resources: dict[str, Any] = Field(default_factory=dict, description="[resources] keys changed")
    worker: dict[str, Any] = Field(default_factory=dict, description="[worker] keys changed")
    stack: dict[str, Any] = Field(default_factory=dict, description="[stack] keys changed")
    swarm: dict[str, Any] = Field(default_factory=dict, description="[swarm] keys changed")
    auth: dict[str, Any] = Field(
        default_factory=dict, description="[auth] keys changed (e.g. keys required in prod only)"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="[env] variables added or changed (no secrets)"
    )

    def overlay(self) -> dict[str, dict[str, Any]]:
        """The declared differences, table by table (empty tables left out)."""
        return {t: dict(getattr(self, t)) for t in OVERLAYS if getattr(self, t)}


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"environment names like 'staging' or 'prod' (got {name!r})")
    return name


def merged(raw: Mapping[str, Any], env: Environment) -> dict[str, Any]:
    """The raw spec with the environment's tables merged over the shared ones."""
    out = dict(raw)
    for table, values in env.overlay().items():
        out[table] = {**dict(out.get(table) or {}), **values}
    return out
