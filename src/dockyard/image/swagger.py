"""Swagger UI's static files, carried inside the dockyard wheel so every image serves /docs.

The swagger-ui-py package ships the files but depends on Jinja2, PyYAML and packaging, which
would then land in every image (and could clash with the user's pins) for a page the runtime
only reads two files of. So the build copies those files, with their licence, from the host's
installed package into the wheel it makes of dockyard, under `dockyard/runtime/swagger_static/`,
where `runtime.openapi` looks first. Found with `find_spec`, never imported: no CDN, no Jinja.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "LICENSE")
WHEEL_DIR = "dockyard/runtime/swagger_static"


def swagger_files() -> dict[str, bytes]:
    """Wheel path -> bytes of Swagger UI's files; empty when the package is not installed."""
    found = importlib.util.find_spec("swagger_ui")
    if found is None or not found.submodule_search_locations:
        return {}
    static = Path(next(iter(found.submodule_search_locations))) / "static"
    if not all((static / name).is_file() for name in FILES):
        return {}
    return {f"{WHEEL_DIR}/{name}": (static / name).read_bytes() for name in FILES}
