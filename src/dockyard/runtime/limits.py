"""The default request-body limit, sized from the model's input type (serving.body_limit).

One input's typical JSON size is estimated from its JSON schema: numbers 24 bytes, texts
4 KiB, arrays of unstated length 1,024 items, objects the sum of their fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from dockyard.spec.serving import Serving

SIZES = {"number": 24, "integer": 24, "boolean": 5, "null": 4, "string": 4096}
UNKNOWN = 4096
ARRAY_ITEMS = 1024


def item_bytes(input_type: Any) -> int:
    """Estimated JSON size of one input of `input_type`."""
    schema = TypeAdapter(input_type).json_schema()
    return _size(schema, schema.get("$defs", {}), 0)


def body_limit(serving: Serving, input_type: Any) -> int:
    """The request-body limit for a model: the spec's, else sized from its input type."""
    return serving.body_limit(item_bytes(input_type))


def _size(schema: dict[str, Any], defs: dict[str, Any], depth: int) -> int:
    if depth > 8:  # recursive types: stop estimating
        return UNKNOWN
    if "$ref" in schema:
        return _size(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), defs, depth + 1)
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return max(_size(option, defs, depth + 1) for option in options)
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("prefixItems") or [schema.get("items", {})]
        count = schema.get("maxItems", ARRAY_ITEMS) if "prefixItems" not in schema else 1
        return sum(_size(item, defs, depth + 1) for item in items) * count
    if kind == "object":
        props = schema.get("properties", {})
        return sum(16 + _size(p, defs, depth + 1) for p in props.values()) or UNKNOWN
    return SIZES.get(str(kind), UNKNOWN)
