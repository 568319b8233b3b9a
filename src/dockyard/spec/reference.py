"""The spec reference page, generated from the spec models themselves so it cannot drift.

Regenerate with `python -m dockyard.spec.reference > docs/spec-reference.md`; a test compares.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from dockyard.spec.base import Section, format_size, parse_size
from dockyard.spec.model import Spec

HEADER = """# Spec reference

Every key of `dockyard.toml` (or `[tool.dockyard]` in `pyproject.toml`), generated from the
spec models by `python -m dockyard.spec.reference > docs/spec-reference.md`; do not edit by hand
(`tests/spec/test_reference.py` fails when this page and the models differ). Unknown keys are
errors. Sizes take `512m`, `2g`, `1.5GiB` or a byte count. Top-level keys (`secrets`) go before
the first `[table]`.
"""


def render_reference() -> str:
    """The whole page: the top-level keys, then one section per table, depth first."""
    parts = [HEADER, *_sections(Spec, "")]
    return "\n".join(parts).rstrip("\n") + "\n"


def _sections(model: type[BaseModel], path: str) -> Iterator[str]:
    if path:
        many = path.startswith("[[")
        yield f"## `{path}`\n\n{_doc(model)}{' (an array of tables)' if many else ''}\n"
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        table = _section_of(field.annotation)
        if table is not None:
            nested.append((name, table))
            continue
        rows.append(f"| `{name}` | {_type(field)} | {_default(field)} | {_describe(field)} |")
    if len(rows) > 2:
        yield "\n".join(rows) + "\n"
    for name, section in nested:
        yield from _sections(section, _child(path, name, _kind(model, name)))


def _child(path: str, name: str, kind: str) -> str:
    inner = path.strip("[]")
    full = f"{inner}.{name}" if inner else name
    if kind == "array":
        return f"[[{full}]]"
    return f"[{full}.NAME]" if kind == "named" else f"[{full}]"


def _kind(model: type[BaseModel], name: str) -> str:
    """'array' of tables, 'named' tables (a table per key) or one 'table'."""
    origin = typing.get_origin(model.model_fields[name].annotation)
    if origin is tuple:
        return "array"
    return "named" if origin is dict else "table"


def _section_of(annotation: Any) -> type[Section] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Section):
            return candidate
    return None


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split("\n\n")[0].split())


def _describe(field: FieldInfo) -> str:
    text = " ".join((field.description or "").split())
    return text.replace("|", "\\|")


def _type(field: FieldInfo) -> str:
    text = "size" if _is_size(field.metadata) else _name(field.annotation)
    return text.replace("|", "\\|")


def _is_size(metadata: typing.Sequence[Any]) -> bool:
    return any(getattr(m, "func", None) is parse_size for m in metadata)


def _name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(f'`"{a}"`' for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_name(a) for a in args)
    if origin is typing.Annotated:
        return "size" if _is_size(args[1:]) else _name(args[0])
    if origin is tuple:
        return f"list of {_name(args[0])}"
    if origin is dict:
        return f"table of {_name(args[1])}"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, enum.Enum):
        value = value.value
    if _is_size(field.metadata):
        return f"`{format_size(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, (tuple, list)):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    if isinstance(value, BaseModel):
        return ", ".join(f"{k} = {v}" for k, v in value.model_dump().items())
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


if __name__ == "__main__":
    print(render_reference(), end="")
