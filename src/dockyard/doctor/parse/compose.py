"""Compose files as line-aware mappings, with the few lookups the rules share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dockyard.doctor.parse.yamlsrc import YList, YMap, as_list, as_map, load_documents


@dataclass(frozen=True)
class Service:
    """One Compose service: its name, the line of its key and its mapping."""

    name: str
    line: int
    data: YMap

    def get(self, key: str) -> object:
        return self.data.get(key)

    def line_of(self, key: str) -> int:
        return self.data.lines.get(key, self.line)

    @property
    def image(self) -> str:
        return str(self.data.get("image") or "")


@dataclass(frozen=True)
class ComposeFile:
    """A parsed Compose file."""

    path: str
    text: str
    data: YMap

    @property
    def services(self) -> list[Service]:
        services = as_map(self.data.get("services"))
        return [
            Service(name, services.line_of(name), as_map(value)) for name, value in services.items()
        ]


def parse_compose(text: str, path: str = "compose.yaml") -> ComposeFile:
    """Parse a Compose file (the first YAML document)."""
    docs = load_documents(text)
    return ComposeFile(path, text, as_map(docs[0] if docs else None))


def environment(service: Service) -> Iterator[tuple[str, str, int]]:
    """(name, value, line) for each `environment` entry, in map or `- K=V` list form."""
    env = service.get("environment")
    if isinstance(env, YMap):
        for key, value in env.items():
            yield key, "" if value is None else str(value), env.line_of(key)
    elif isinstance(env, YList):
        for item, line in zip(env, env.lines, strict=False):
            name, _, value = str(item).partition("=")
            yield name, value, line


def limits(service: Service) -> YMap:
    """`deploy.resources.limits`, empty when absent."""
    return as_map(as_map(as_map(service.get("deploy")).get("resources")).get("limits"))


def wants_gpu(service: Service) -> bool:
    """Whether the service asks for a GPU (device reservation, `gpus:` or the nvidia runtime)."""
    if service.get("gpus") or service.get("runtime") == "nvidia":
        return True
    resources = as_map(as_map(service.get("deploy")).get("resources"))
    reservations = as_map(resources.get("reservations"))
    for device in as_list(reservations.get("devices")):
        caps = [str(c) for c in as_list(as_map(device).get("capabilities"))]
        if "gpu" in caps or "nvidia" in str(as_map(device).get("driver", "")):
            return True
    return False


def has_memory_limit(service: Service) -> bool:
    return bool(service.get("mem_limit") or limits(service).get("memory"))


def has_cpu_limit(service: Service) -> bool:
    return bool(service.get("cpus") or service.get("cpu_quota") or limits(service).get("cpus"))


def command_text(service: Service) -> str:
    """Image, entrypoint and command joined, for keyword heuristics."""
    parts = [service.image]
    for key in ("entrypoint", "command"):
        value = service.get(key)
        parts.append(" ".join(map(str, value)) if isinstance(value, list) else str(value or ""))
    return " ".join(parts)
