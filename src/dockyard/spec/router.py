"""Model-as-service: versions behind a router with A/B weights, canary, sticky keys and shadow."""

from __future__ import annotations

from pydantic import Field

from dockyard.spec.base import Section


class Version(Section):
    """One deployed model version and its share of traffic."""

    name: str
    path: str | None = Field(default=None, description="Project directory of this version")
    url: str | None = Field(default=None, description="Where the version already runs")
    weight: float = Field(default=0.0, ge=0)


class Router(Section):
    """Traffic policy in front of the versions."""

    enabled: bool = False
    versions: tuple[Version, ...] = ()
    shadow: str | None = Field(default=None, description="Version that gets a copy of traffic")
    sticky_header: str | None = None
