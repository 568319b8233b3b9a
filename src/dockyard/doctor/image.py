"""Built images: read the `docker save` tar (config, history, every layer's files) into facts.

Reading is I/O (`read_image` talks to the engine, `read_saved_image` reads a tar); the result,
`Image`, is plain data the image rules check. Files deleted by a later layer are kept with
`deleted_in` set: they are still in the image, one `docker save` away.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from dockyard.detect.secrets import SCAN_MAX, SecretHit, scan_file
from dockyard.errors import EngineError

DIGEST_MIN = 1024 * 1024  # files at least this big get a digest (for duplicate detection)
_SKIP = re.compile(
    r"^(usr/share/(doc|man|locale|zoneinfo|common-licenses|ca-certificates|i18n|info)/|"
    r"etc/ssl/certs/|var/lib/dpkg/|usr/include/|usr/lib/python3[.\d]*/test/|proc/|sys/)"
)


@dataclass(frozen=True)
class LayerFile:
    """A regular file as one layer stores it; `secrets` are already redacted descriptions."""

    layer: int
    path: str
    size: int
    digest: str = ""
    secrets: tuple[str, ...] = ()
    deleted_in: int | None = None
    hash_pyc: bool = False  # bytecode compiled on purpose (hash-based), not a timestamp cache


@dataclass(frozen=True)
class Layer:
    index: int
    created_by: str
    files: tuple[LayerFile, ...]


@dataclass(frozen=True)
class Image:
    """What the image rules see: the config, the history and every layer's files."""

    name: str
    config: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    layers: tuple[Layer, ...] = field(default=())

    @property
    def files(self) -> Iterator[LayerFile]:
        for layer in self.layers:
            yield from layer.files


def read_image(name: str) -> Image:
    """Save `name` from the engine to a temporary tar and read it."""
    try:
        import docker

        client = docker.from_env()
        image = client.images.get(name)
        with tempfile.TemporaryFile() as tmp:
            for chunk in image.save(named=True):
                tmp.write(chunk)
            tmp.seek(0)
            return read_saved_image(tmp, name)
    except EngineError:
        raise
    except Exception as exc:  # the SDK raises many types; all mean "the engine said no"
        raise EngineError(f"cannot read image {name!r} from the engine: {exc}") from exc


def read_saved_image(fileobj: IO[bytes], name: str) -> Image:
    """Read a `docker save` tar (classic or OCI layout with manifest.json)."""
    with tarfile.open(fileobj=fileobj, mode="r:*") as outer:
        manifest = json.loads(_member_bytes(outer, "manifest.json"))[0]
        config = json.loads(_member_bytes(outer, manifest["Config"]))
        history = tuple(config.get("history", ()))
        commands = [h.get("created_by", "") for h in history if not h.get("empty_layer")]
        layers = [
            _read_layer(outer, path, i, commands[i] if i < len(commands) else "")
            for i, path in enumerate(manifest["Layers"])
        ]
    return Image(name, config.get("config") or {}, history, _mark_deleted(layers))


def load_image_file(path: Path) -> Image:
    """Read an image from a tar written by `docker save`."""
    with path.open("rb") as handle:
        return read_saved_image(handle, path.name)


def _member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    if handle is None:
        raise EngineError(f"image tar has no {name}")
    return handle.read()


def _read_layer(outer: tarfile.TarFile, path: str, index: int, created_by: str) -> Layer:
    handle = outer.extractfile(path)
    if handle is None:
        return Layer(index, created_by, ())
    files = []
    with tarfile.open(fileobj=handle, mode="r|*") as layer:
        for member in layer:
            entry = _entry(layer, member, index)
            if entry is not None:
                files.append(entry)
    return Layer(index, created_by, tuple(files))


def _entry(layer: tarfile.TarFile, member: tarfile.TarInfo, index: int) -> LayerFile | None:
    path = layer_path(member.name)
    base = posixpath.basename(path)
    if base.startswith(".wh."):
        return LayerFile(index, path, 0)  # a whiteout; resolved by _mark_deleted
    if not member.isfile():
        return None
    wants_digest = member.size >= DIGEST_MIN
    wants_scan = member.size <= SCAN_MAX and not _SKIP.match(path)
    pyc = path.endswith(".pyc")
    if not (wants_digest or wants_scan or pyc):
        return LayerFile(index, path, member.size)
    handle = layer.extractfile(member)
    data = (handle.read() if wants_digest or wants_scan else handle.read(16)) if handle else b""
    digest = hashlib.sha256(data).hexdigest() if wants_digest else ""
    secrets = _secrets(path, data) if wants_scan else ()
    return LayerFile(index, path, member.size, digest, secrets, hash_pyc=pyc and _hash_based(data))


def _hash_based(pyc: bytes) -> bool:
    """A pyc whose header (PEP 552) says it is checked by source hash, not by timestamp: written
    by `compileall --invalidation-mode`, deliberately, not left behind by an install or a run."""
    return len(pyc) >= 8 and bool(int.from_bytes(pyc[4:8], "little") & 1)


def layer_path(name: str) -> str:
    """`./app/x`, `/app/x` and `app/x` -> `app/x`; `.env` stays `.env` (prefixes, not chars)."""
    while name.startswith(("./", "/")):
        name = name[2:] if name.startswith("./") else name[1:]
    return name


def _secrets(path: str, data: bytes) -> tuple[str, ...]:
    """Redacted descriptions of the secrets in one file's content (or its name)."""
    found = [_describe(hit) for hit in scan_file(path, data)]
    return tuple(dict.fromkeys(found))


def _describe(hit: SecretHit) -> str:
    if hit.kind == "a secret file by name":
        return hit.kind
    return f"{hit.kind} {hit.shown} (line {hit.line})"


def _mark_deleted(layers: list[Layer]) -> tuple[Layer, ...]:
    """Drop whiteout entries and set `deleted_in` on the files they remove."""
    deleted: list[tuple[str, int]] = []
    for layer in layers:
        for f in layer.files:
            base = posixpath.basename(f.path)
            if base == ".wh..wh..opq":
                deleted.append((posixpath.dirname(f.path) + "/", layer.index))
            elif base.startswith(".wh."):
                deleted.append((posixpath.join(posixpath.dirname(f.path), base[4:]), layer.index))
    out = []
    for layer in layers:
        kept = tuple(
            _with_deletion(f, deleted)
            for f in layer.files
            if not posixpath.basename(f.path).startswith(".wh.")
        )
        out.append(Layer(layer.index, layer.created_by, kept))
    return tuple(out)


def _with_deletion(f: LayerFile, deleted: list[tuple[str, int]]) -> LayerFile:
    for path, index in deleted:
        if index > f.layer and (f.path == path or f.path.startswith(path.rstrip("/") + "/")):
            return replace(f, deleted_in=index)
    return f
