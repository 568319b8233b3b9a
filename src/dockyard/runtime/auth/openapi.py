"""The security scheme in the service's OpenAPI document: bearer or X-API-Key, per route."""

from __future__ import annotations

from typing import Any

from dockyard.runtime.auth.rules import Rules

SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key as a bearer token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_REFUSALS = {
    "401": {"description": "No API key, or an unknown one"},
    "403": {"description": "The key lacks the scope this route needs"},
    "429": {"description": "The key is over its rate limit (see Retry-After)"},
}


def secured(doc: dict[str, Any], rules: Rules, enabled: bool) -> dict[str, Any]:
    """`doc` with the schemes declared and, when auth is on, required on every non-probe route."""
    components = {**doc.get("components", {}), "securitySchemes": SCHEMES}
    out = {**doc, "components": components}
    if not enabled:
        return out
    paths: dict[str, Any] = {}
    for path, operations in doc.get("paths", {}).items():
        open_route = rules.scope_for(path) is None
        paths[path] = {
            method: op if open_route or not isinstance(op, dict) else _required(op)
            for method, op in operations.items()
        }
    return {**out, "paths": paths}


def _required(operation: dict[str, Any]) -> dict[str, Any]:
    responses = {**_REFUSALS, **operation.get("responses", {})}
    return {**operation, "security": [{"bearer": []}, {"apiKey": []}], "responses": responses}
