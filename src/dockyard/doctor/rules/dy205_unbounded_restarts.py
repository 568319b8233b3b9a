"""DY205: Compose restart policies that retry a crashing model server (or re-run a job) forever."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.doctor.parse.compose import ComposeFile, Service
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule
from dockyard.doctor.workload import workload


def _reruns(service: Service) -> bool:
    """A job's command under `always`: it finishes, and Compose starts it again."""
    command = service.get("command")
    text = " ".join(map(str, command)) if isinstance(command, list) else str(command or "")
    return service.get("restart") != "on-failure" and workload(text, False, "") == "job"


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        restart = str(service.get("restart") or "")
        if restart in {"always", "unless-stopped", "on-failure"}:
            again = "re-runs after every finish" if _reruns(service) else "restarts forever"
            yield Hit(service.line_of("restart"), f"service {service.name} {again} ({restart})")
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
