"""Writing dockyard.toml files from data (tomli-w quotes and nests; no hand-built TOML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` as TOML to `path` (tables in insertion order) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path
