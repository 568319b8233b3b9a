"""Refusing non-finite numbers (NaN, Infinity) in inputs, unless the input type allows them.

Plain input types are covered inside pydantic-core by the request model's `allow_inf_nan=False`.
A pydantic model in the input type keeps its own config (which allows them by default), so for
those the body is also parsed once by the C JSON parser with NaN/Infinity refused; a model that
sets `allow_inf_nan` itself (either way) is taken at its word.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import from_json

from dockyard.runtime.http import HTTPError


def needs_token_check(input_type: Any) -> bool:
    """Whether the type holds floats in a pydantic model that did not say whether it allows NaN."""
    if '"number"' not in json.dumps(TypeAdapter(input_type).json_schema()):
        return False
    models = _models_in(input_type, set())
    return any("allow_inf_nan" not in m.model_config for m in models) and not any(
        m.model_config.get("allow_inf_nan") for m in models
    )


def refuse_non_finite(body: bytes) -> None:
    """422 when the JSON body holds a NaN or Infinity token (malformed JSON is left to 400)."""
    try:
        from_json(body, allow_inf_nan=False)
    except ValueError:
        try:
            from_json(body)
        except ValueError:
            return
        raise HTTPError(
            422,
            "invalid_input",
            "inputs: a non-finite number (NaN or Infinity); only finite numbers are accepted",
        ) from None


def _models_in(tp: Any, seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in seen:
            seen.add(tp)
            for info in tp.model_fields.values():
                _models_in(info.annotation, seen)
    elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
        for item in dataclasses.fields(tp):
            _models_in(item.type, seen)
    for arg in typing.get_args(tp):
        _models_in(arg, seen)
    return seen
