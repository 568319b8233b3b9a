"""The OpenAPI document, generated from the model's type hints, and a self-contained docs page."""

from __future__ import annotations

import html
import importlib.util
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.runtime.golden import GoldenSample

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
    predict_body: dict[str, Any] = {"schema": {"$ref": REF.format(model="PredictRequest")}}
    if examples := golden_examples(_golden(service)):
        predict_body["examples"] = examples
    paths: dict[str, Any] = {
        "/predict": {
            "post": {
                "summary": f"Predict with {spec.model_name}",
                "operationId": "predict",
                "requestBody": {"required": True, "content": {"application/json": predict_body}},
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
    paths.update(monitoring_paths())
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


def _golden(service: Service) -> list[GoldenSample]:
    try:
        return service.golden()
    except Exception:  # a broken golden file fails the canary loudly; the docs still render
        return []


def monitoring_paths() -> dict[str, Any]:
    """Ground truth and status routes (runtime.monitor)."""
    label = {
        "type": "object",
        "required": ["request_id", "value"],
        "properties": {
            "request_id": {"type": "string", "description": "X-Request-ID of the prediction"},
            "index": {"type": "integer", "minimum": 0, "default": 0},
            "value": {"description": "The true value (or the whole true output)"},
        },
    }
    matched = {"200": {"description": "Joined to the recorded prediction", **_json({})}}
    return {
        "/feedback": {
            "post": {
                "summary": "Report the true value of one prediction",
                "operationId": "feedback",
                "requestBody": {"required": True, **_json(label)},
                "responses": {**matched, "404": {"description": "No such recorded prediction"}},
            }
        },
        "/feedback/batch": {
            "post": {
                "summary": "Report true values of many predictions",
                "operationId": "feedbackBatch",
                "requestBody": {
                    "required": True,
                    **_json({"type": "object", "properties": {"items": {"type": "array",
                                                                        "items": label}}}),
                },
                "responses": matched,
            }
        },
        "/status": {"get": {"summary": "Status page (HTML)", "operationId": "status",
                            "responses": {"200": {"description": "HTML"}}}},
    }  # fmt: skip


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


# The files of the Swagger UI page (no CDN: images are often air-gapped). Images carry them in
# dockyard's own wheel (dockyard.image.swagger puts them in swagger_static/); `dockyard serve`
# reads them from the installed swagger-ui-py package. Without either, /docs falls back to the
# small page in docs.html.
SWAGGER_FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
}
BUNDLED = Path(__file__).parent / "swagger_static"


def swagger_static() -> Path | None:
    """The folder of Swagger UI's static files: the bundled copy, else the installed package's.

    The package is found without importing it (its import pulls in Jinja2).
    """
    found = importlib.util.find_spec("swagger_ui")
    installed = (
        [Path(next(iter(found.submodule_search_locations))) / "static"]
        if found is not None and found.submodule_search_locations
        else []
    )
    return next((d for d in [BUNDLED, *installed] if (d / "swagger-ui-bundle.js").is_file()), None)


def docs_page(title: str = "Dockyard") -> str:
    """Swagger UI over /openapi.json when its files are installed, else the built-in page."""
    name = "swagger.html" if swagger_static() is not None else "docs.html"
    page = (resources.files("dockyard.runtime") / name).read_text(encoding="utf-8")
    return page.replace("__TITLE__", html.escape(title))


def golden_examples(samples: Sequence[GoldenSample]) -> dict[str, Any]:
    """The golden samples as ready-to-send request examples (the first is the default)."""
    return {
        f"golden-{i}": {"summary": f"Golden sample {i}", "value": {"inputs": [s.input]}}
        for i, s in enumerate(samples[:10], 1)
    }
