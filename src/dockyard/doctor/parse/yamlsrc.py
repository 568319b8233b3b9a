"""YAML with line numbers: mappings and lists remember the 1-based line of each key and item."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode


class YMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of `key`, or of the mapping itself when the key is absent."""
        return self.lines.get(key, self.line)


class YList(list[Any]):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers."""


def _map(loader: _Loader, node: MappingNode) -> YMap:
    out = YMap()
    out.line = node.start_mark.line + 1
    out.lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _seq(loader: _Loader, node: SequenceNode) -> YList:
    out = YList(loader.construct_object(n, deep=True) for n in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [n.start_mark.line + 1 for n in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


def load_documents(text: str) -> list[Any]:
    """Every document of a (multi-document) YAML text; empty documents are dropped."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


def as_map(value: object) -> YMap:
    """`value` if it is a mapping, else an empty one (so rules can chain lookups safely)."""
    if isinstance(value, YMap):
        return value
    empty = YMap()
    empty.lines = {}
    return empty


def as_list(value: object) -> YList:
    """`value` if it is a sequence, else an empty one."""
    if isinstance(value, YList):
        return value
    empty = YList()
    empty.lines = []
    return empty
