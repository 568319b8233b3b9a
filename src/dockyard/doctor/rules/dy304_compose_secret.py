"""DY304: a literal secret in a Compose file's environment or build args."""

from __future__ import annotations

from collections.abc import Iterator

from dockyard.detect.secrets import check_value
from dockyard.doctor.parse.compose import ComposeFile, Service, environment
from dockyard.doctor.parse.yamlsrc import as_map
from dockyard.doctor.rule import Hit, Rule


def _pairs(service: Service) -> Iterator[tuple[str, str, int]]:
    yield from environment(service)
    args = as_map(as_map(service.get("build")).get("args"))
    for name, value in args.items():
        yield name, str(value or ""), args.line_of(name)


def _check(compose: ComposeFile) -> Iterator[Hit]:
    for service in compose.services:
        for name, value, line in _pairs(service):
            hit = check_value(name, value)
            if hit:
                yield Hit(
                    line, f"service {service.name}: {name} holds a secret, {hit.kind} ({hit.shown})"
                )


RULE = Rule(
    "DY304",
    "Literal secret in Compose",
    "error",
    "secrets",
    ("compose",),
    fix="Rotate the key; reference it instead (`${OPENAI_API_KEY}` from an untracked .env, "
    "`env_file:`, or Compose `secrets:`).",
    check=_check,
)
