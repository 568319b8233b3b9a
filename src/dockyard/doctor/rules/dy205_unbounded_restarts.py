"""DY205: Compose restart policies that retry a crashing model server forever."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        restart = str(service.get("restart") or "")
        if restart in {"always", "unless-stopped", "on-failure"}:
            yield Hit(
                service.line_of("restart"),
                f"service {service.name} restarts forever (restart: {restart})",
            )
        deploy = as_map(service.get("deploy"))
        policy = as_map(deploy.get("restart_policy"))
        if policy and policy.get("condition", "any") != "none" and "max_attempts" not in policy:
            yield Hit(
                deploy.line_of("restart_policy"),
                f"service {service.name}'s restart_policy has no max_attempts",
            )


RULE = Rule(
    "DY205",
    "Unbounded restarts",
    "info",
    "resources",
    ("compose",),
    fix="Bound retries (`restart: on-failure:5` or `deploy.restart_policy.max_attempts`) so a "
    "model that OOMs at startup fails visibly instead of looping.",
    check=_check,
)
