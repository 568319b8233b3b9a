"""The OpenAPI document, generated from the model's type hints, and a self-contained docs page."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.runtime.service import Service

REF = "#/components/schemas/{model}"


def _schema(adapter: Any, defs: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    schema: dict[str, Any] = adapter.json_schema(ref_template=REF, mode=mode)
    defs.update(schema.pop("$defs", {}))
    if schema.get("type") == "object" and "title" in schema:  # a named model: share it by reference
        defs[schema["title"]] = schema
        return {"$ref": REF.format(model=schema["title"])}
    return schema


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                },
                "required": ["type", "message"],
            }
        },
        "required": ["error"],
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed JSON or tensors",
        413: "Body too large",
        422: "Input does not match the schema",
        500: "The model raised for this input",
        503: "Not ready or overloaded (see Retry-After)",
        504: "No answer within serving.timeout_s",
    }
    return {
        str(c): {"description": text[c], **_json({"$ref": REF.format(model="Error")})}
        for c in codes
    }


def document(service: Service) -> dict[str, Any]:
    """OpenAPI 3.1 for the service: /predict typed by the model, plus probes and metrics."""
    sig, spec = service.signature, service.spec
    defs: dict[str, Any] = {"Error": _error_schema()}
    item_in = _schema(sig.inputs, defs)
    item_out = _schema(sig.outputs, defs, mode="serialization")
    defs["PredictRequest"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["inputs"],
        "properties": {"inputs": {"type": "array", "items": item_in}},
    }
    defs["PredictResponse"] = {
        "type": "object",
        "required": ["outputs"],
        "properties": {"outputs": {"type": "array", "items": item_out}},
    }
    plain = {"200": {"description": "OK", **_json({"type": "object"})}}
    paths: dict[str, Any] = {
        "/predict": {
            "post": {
                "summary": f"Predict with {spec.model_name}",
                "operationId": "predict",
                "requestBody": {
                    "required": True,
                    **_json({"$ref": REF.format(model="PredictRequest")}),
                },
                "responses": {
                    "200": {
                        "description": "One output per input, in order",
                        **_json({"$ref": REF.format(model="PredictResponse")}),
                    },
                    **_errors(400, 413, 422, 500, 503, 504),
                },
            }
        },
        "/healthz": {"get": {"summary": "Liveness", "operationId": "live", "responses": plain}},
        "/readyz": {
            "get": {
                "summary": "Readiness: model loaded and canary matched",
                "operationId": "ready",
                "responses": {**plain, **_errors(503)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Text exposition",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": spec.project.name,
            "version": spec.project.version,
            "description": spec.project.description or f"Dockyard service for {spec.model_name}",
        },
        "paths": paths,
        "components": {"schemas": defs},
    }


def v2_tensors(service: Service) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """V2 metadata of the model's input and output tensors (empty when not expressible)."""
    from dockyard.runtime.v2 import codec_for

    sig = service.signature
    codec_in, codec_out = (
        codec_for(sig.input_type, "input-0"),
        codec_for(sig.output_type, "output-0"),
    )
    return (
        [t.metadata() for t in codec_in.tensors] if codec_in else [],
        [t.metadata() for t in codec_out.tensors] if codec_out else [],
    )


def docs_page() -> str:
    """A self-contained page (no CDN: images are often air-gapped) to browse and try the API."""
    return (resources.files("dockyard.runtime") / "docs.html").read_text(encoding="utf-8")
