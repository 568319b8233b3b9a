"""The Open Inference Protocol (KServe V2) tensor codec for a model's typed inputs and outputs.

A model whose item type is a scalar (str, int, float, bool) or a list of scalars maps to one
tensor with the batch as first dimension; a pydantic model of such fields maps to one tensor per
field, named after the field. Other types are not expressible as V2 tensors.
"""

from __future__ import annotations

import math
import struct
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dockyard.runtime.contract import strip_annotated

SCALARS: dict[type, str] = {bool: "BOOL", int: "INT64", float: "FP64", str: "BYTES"}
INT_TYPES = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
FLOAT_TYPES = {"FP16", "FP32", "FP64", "BF16"}
ACCEPTS = {
    "BOOL": {"BOOL"},
    "INT64": INT_TYPES,
    "FP64": FLOAT_TYPES | INT_TYPES,
    "BYTES": {"BYTES"},
}


class TensorError(ValueError):
    """A request's tensors do not fit the model's inputs (answered with 400)."""


@dataclass(frozen=True)
class TensorSpec:
    """One V2 tensor: its name, datatype, and whether each batch row is a list."""

    name: str
    datatype: str
    is_list: bool

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datatype": self.datatype,
            "shape": [-1, -1] if self.is_list else [-1],
        }


@dataclass(frozen=True)
class Codec:
    """Maps a model's item type to tensors; `fields` is False for a single unnamed tensor."""

    tensors: tuple[TensorSpec, ...]
    fields: bool


def codec_for(item_type: Any, default_name: str) -> Codec | None:
    """The tensor layout of an item type, or None when it has none."""
    item_type = strip_annotated(item_type)
    if isinstance(item_type, type) and issubclass(item_type, BaseModel):
        specs = [_tensor(name, f.annotation) for name, f in item_type.model_fields.items()]
        if any(s is None for s in specs):
            return None
        return Codec(tuple(s for s in specs if s is not None), fields=True)
    single = _tensor(default_name, item_type)
    return Codec((single,), fields=False) if single else None


def _tensor(name: str, hint: Any) -> TensorSpec | None:
    hint = strip_annotated(hint)
    if hint in SCALARS:
        return TensorSpec(name, SCALARS[hint], is_list=False)
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list and len(args) == 1 and args[0] in SCALARS:
        return TensorSpec(name, SCALARS[args[0]], is_list=True)
    return None


def decode_inputs(codec: Codec, inputs: Any) -> list[Any]:
    """V2 request `inputs` -> one item per batch row (dicts for field codecs)."""
    if not isinstance(inputs, list) or not inputs:
        raise TensorError("'inputs' must be a non-empty list of tensors")
    by_name = {t.get("name"): t for t in inputs if isinstance(t, dict)}
    if codec.fields:
        missing = [s.name for s in codec.tensors if s.name not in by_name]
        if missing:
            raise TensorError(
                f"missing input tensor(s) {missing}; expected {[s.name for s in codec.tensors]}"
            )
        columns = {s.name: _rows(s, by_name[s.name]) for s in codec.tensors}
        sizes = {len(c) for c in columns.values()}
        if len(sizes) != 1:
            raise TensorError("all input tensors must have the same batch size (first dimension)")
        return [{name: col[i] for name, col in columns.items()} for i in range(sizes.pop())]
    if len(inputs) != 1:
        raise TensorError(f"this model takes one input tensor, got {len(inputs)}")
    return _rows(codec.tensors[0], inputs[0])


def _rows(spec: TensorSpec, tensor: Any) -> list[Any]:
    if not isinstance(tensor, dict):
        raise TensorError("each input tensor must be an object with name, shape, datatype, data")
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and d >= 0 for d in shape)
    ):
        raise TensorError(f"tensor {name!r}: 'shape' must be a list of non-negative integers")
    if datatype not in ACCEPTS[spec.datatype]:
        raise TensorError(
            f"tensor {name!r}: datatype {datatype!r} does not fit; expected {spec.datatype}"
        )
    data = _flatten(tensor.get("data"))
    if len(data) != math.prod(shape):
        raise TensorError(
            f"tensor {name!r}: shape {shape} needs {math.prod(shape)} values, got {len(data)}"
        )
    batch, row = shape[0], math.prod(shape[1:])
    if not spec.is_list:
        if row != 1:
            raise TensorError(f"tensor {name!r}: expected shape [N] or [N, 1], got {shape}")
        return data
    return [data[i * row : (i + 1) * row] for i in range(batch)]


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TensorError("tensor 'data' must be a list")
    if data and isinstance(data[0], list):
        return [x for sub in data for x in _flatten(sub)]
    return data


def encode_outputs(
    codec: Codec, values: list[Any], wanted: set[str] | None
) -> list[dict[str, Any]]:
    """Output items (JSON-ready) -> V2 response tensors, optionally only the requested ones."""
    tensors = []
    for spec in codec.tensors:
        if wanted and spec.name not in wanted:
            continue
        column = [v[spec.name] for v in values] if codec.fields else values
        tensors.append(_tensor_of(spec, column))
    return tensors


def _tensor_of(spec: TensorSpec, column: list[Any]) -> dict[str, Any]:
    if not spec.is_list:
        return {
            "name": spec.name,
            "datatype": spec.datatype,
            "shape": [len(column)],
            "data": column,
        }
    width = len(column[0]) if column else 0
    if any(len(row) != width for row in column):
        raise TensorError(f"output {spec.name!r} has rows of different lengths; not a tensor")
    data = [x for row in column for x in row]
    return {
        "name": spec.name,
        "datatype": spec.datatype,
        "shape": [len(column), width],
        "data": data,
    }


# ---- the binary tensor data extension (what tritonclient sends by default) ----------------------
_CODES = {
    "INT8": "b",
    "UINT8": "B",
    "INT16": "h",
    "UINT16": "H",
    "INT32": "i",
    "UINT32": "I",
    "INT64": "q",
    "UINT64": "Q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}
HEADER_LENGTH = "inference-header-content-length"


def split_binary(body: bytes, header_length: int) -> tuple[bytes, bytes]:
    """Split a binary-extension body into its JSON header and the raw tensor bytes."""
    if header_length < 0 or header_length > len(body):
        raise TensorError(f"Inference-Header-Content-Length {header_length} exceeds the body")
    return body[:header_length], body[header_length:]


def attach_binary(inputs: Any, raw: bytes) -> None:
    """Replace each input's `binary_data_size` bytes by decoded `data`, in order."""
    offset = 0
    for tensor in inputs if isinstance(inputs, list) else []:
        size = (
            (tensor.get("parameters") or {}).get("binary_data_size")
            if isinstance(tensor, dict)
            else None
        )
        if size is None:
            continue
        if not isinstance(size, int) or offset + size > len(raw):
            raise TensorError(
                f"tensor {tensor.get('name')!r}: binary_data_size {size} exceeds the data sent"
            )
        tensor["data"] = _unpack(
            tensor.get("datatype"), raw[offset : offset + size], tensor.get("name")
        )
        offset += size


def _unpack(datatype: Any, chunk: bytes, name: Any) -> list[Any]:
    if datatype == "BYTES":
        values, pos = [], 0
        while pos < len(chunk):
            length = int.from_bytes(chunk[pos : pos + 4], "little")
            values.append(chunk[pos + 4 : pos + 4 + length].decode("utf-8", errors="strict"))
            pos += 4 + length
        return values
    if datatype == "BOOL":
        return [bool(b) for b in chunk]
    code = _CODES.get(datatype) if isinstance(datatype, str) else None
    if code is None:
        raise TensorError(f"tensor {name!r}: binary datatype {datatype!r} is not supported")
    width = struct.calcsize(code)
    if len(chunk) % width:
        raise TensorError(
            f"tensor {name!r}: {len(chunk)} bytes is not a whole number of {datatype}"
        )
    return list(struct.unpack(f"<{len(chunk) // width}{code}", chunk))


def pack_binary(outputs: list[dict[str, Any]]) -> bytes:
    """Move each output's data into trailing bytes, as the binary extension asks; returns them."""
    parts = []
    for tensor in outputs:
        data, datatype = tensor.pop("data"), tensor["datatype"]
        if datatype == "BYTES":
            raw = b"".join(len(b := str(v).encode()).to_bytes(4, "little") + b for v in data)
        elif datatype == "BOOL":
            raw = bytes(bool(v) for v in data)
        else:
            raw = struct.pack(f"<{len(data)}{_CODES[datatype]}", *data)
        tensor["parameters"] = {"binary_data_size": len(raw)}
        parts.append(raw)
    return b"".join(parts)


def wants_binary(request: dict[str, Any]) -> bool:
    """Did the client ask for binary outputs (globally or per requested output)?"""
    if (request.get("parameters") or {}).get("binary_data_output"):
        return True
    return any(
        isinstance(o, dict) and (o.get("parameters") or {}).get("binary_data")
        for o in request.get("outputs") or []
    )
