"""Compose files read together: variants (dev, prod, ...) to compare for drift.

A directory's `compose.yaml` with `compose.dev.yaml` and `compose.prod.yaml` gives two variants,
base+dev and base+prod (a lone overlay is compared with the base alone). Files given side by
side with no shared base are each a variant. Later layers override earlier ones, as Compose does.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import PurePath

from dockyard.doctor.parse.compose import ComposeFile
from dockyard.doctor.parse.yamlsrc import YMap, as_map


@dataclass(frozen=True)
class Located:
    """A value found in one layer of a variant, with the file and line that set it."""

    value: object
    path: str
    line: int


@dataclass(frozen=True)
class Variant:
    """One effective configuration: a base file and the overlays on top of it."""

    layers: tuple[ComposeFile, ...]

    @property
    def label(self) -> str:
        return PurePath(self.layers[-1].path).name

    def services(self) -> set[str]:
        return {s.name for layer in self.layers for s in layer.services}

    def lookup(self, service: str, *keys: str) -> Located | None:
        """The value at `services.<service>.<keys...>`, from the last layer that sets it."""
        for layer in reversed(self.layers):
            node: object = as_map(layer.data.get("services")).get(service)
            node = _normalise_build(node, keys)
            for key in keys[:-1]:
                node = as_map(node).get(key)
            parent = as_map(node)
            if keys[-1] in parent:
                return Located(parent[keys[-1]], layer.path, parent.line_of(keys[-1]))
        return None

    def mapping(self, service: str, *keys: str) -> dict[str, Located]:
        """A merged mapping (build args, environment) with where each key was set."""
        out: dict[str, Located] = {}
        for layer in self.layers:
            node: object = as_map(layer.data.get("services")).get(service)
            for key in keys:
                node = as_map(node).get(key)
            for name, value, line in _items(node):
                out[name] = Located(value, layer.path, line)
        return out

    def builds(self, service: str) -> bool:
        return self.lookup(service, "build") is not None


def _normalise_build(node: object, keys: tuple[str, ...]) -> object:
    """`build: ./dir` is shorthand for `build: {context: ./dir}`."""
    service = as_map(node)
    if keys[:1] == ("build",) and len(keys) > 1 and isinstance(service.get("build"), str):
        short = YMap({"context": service["build"]})
        short.line, short.lines = service.line_of("build"), {"context": service.line_of("build")}
        patched = YMap(service)
        patched.line, patched.lines = service.line, service.lines
        patched["build"] = short
        return patched
    return node


def _items(node: object) -> list[tuple[str, str, int]]:
    if isinstance(node, YMap):
        return [(k, "" if v is None else str(v), node.line_of(k)) for k, v in node.items()]
    if isinstance(node, list):
        lines = getattr(node, "lines", [0] * len(node))
        return [
            (str(i).partition("=")[0], str(i).partition("=")[2], ln)
            for i, ln in zip(node, lines, strict=False)
        ]
    return []


@dataclass(frozen=True)
class ComposeSet:
    """The variants to compare; `pairs` are the comparisons the parity rules make."""

    variants: tuple[Variant, ...]

    @property
    def pairs(self) -> list[tuple[Variant, Variant]]:
        return list(combinations(self.variants, 2))


def compose_set(base: ComposeFile | None, others: list[ComposeFile]) -> ComposeSet:
    """Variants from an optional base and its overlays (or independent files)."""
    if base is None:
        return ComposeSet(tuple(Variant((f,)) for f in others))
    if len(others) == 1:
        return ComposeSet((Variant((base,)), Variant((base, others[0]))))
    return ComposeSet(tuple(Variant((base, f)) for f in others))
