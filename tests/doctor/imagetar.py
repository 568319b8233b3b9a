"""Build a `docker save`-style tar from a JSON description: image rules run without an engine.

Description: {"config": {...}, "history": [...], "layers": [{"files": {path: text | {"size": n}}}]}.
A file given as {"size": n} is n bytes of one repeated character, after the bytes of an optional
"head" given in hex (e.g. a pyc header).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from dockyard.doctor.image import Image, read_saved_image


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _layer(files: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            if isinstance(content, dict):
                head = bytes.fromhex(content.get("head", ""))
                data = head + b"x" * (content["size"] - len(head))
            else:
                data = content.encode()
            _add(tar, path, data)
    return buffer.getvalue()


def saved_image_bytes(description: dict[str, Any]) -> bytes:
    layers = [_layer(layer.get("files", {})) for layer in description.get("layers", [])]
    config = {"config": description.get("config", {}), "history": description.get("history", [])}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        names = [f"layer{i}/layer.tar" for i in range(len(layers))]
        for name, data in zip(names, layers, strict=True):
            _add(tar, name, data)
        _add(tar, "config.json", json.dumps(config).encode())
        manifest = [{"Config": "config.json", "RepoTags": ["fixture:1"], "Layers": names}]
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return buffer.getvalue()


def image_from_json(path: Path) -> Image:
    description = json.loads(path.read_text())
    return read_saved_image(io.BytesIO(saved_image_bytes(description)), path.name)
