"""Another platform's image, written as an OCI image layout (`.dockyard/build/linux-arm64/`).

Its layers: the foreign base, the runtime user (the base's passwd and group plus the line the
Dockerfile adds), the venv staged from that platform's wheels, then the building machine's
image's own top layers as they are (artifacts, dockyard, the app: files that are the same on
every architecture; the same diff ids, though not the same registry blobs, since the engine
compresses the building machine's layers itself). The config is the one
`image.assemble` writes for the building machine, with that platform's architecture.
The engine never loads it (it could not run it); `dockyard push` sends it from the layout.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import BuildError
from dockyard.image.assemble import OwnLayer, image_config, iso
from dockyard.image.context import Entry, write_tar
from dockyard.image.dockerfile import user_lines
from dockyard.image.engine import Engine
from dockyard.image.layers import Hashing, copy_hashed, moved, normalize
from dockyard.image.multiarch.base import ForeignBase
from dockyard.image.multiarch.platform import Platform
from dockyard.image.multiarch.venv import copy_bytecode, stage_venv
from dockyard.image.oci import MANIFEST, Descriptor
from dockyard.image.plan import VENV, BuildPlan

INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
HOST_IMAGE = "dev.dockyard.host-image"  # the building machine's image this variant goes with
BASE_LAYER = "dev.dockyard.base-layer"  # the foreign base's diff id
_DIFF_IDS = "diff_ids.json"  # diff id -> compressed blob digest, so unchanged layers are reused


@dataclass(frozen=True)
class Variant:
    """An image of `platform` in an OCI layout: its manifest and compressed size."""

    platform: Platform
    layout: Path
    manifest: Descriptor
    host_image: str
    size: int

    def platform_json(self) -> dict[str, str]:
        """The `platform` of its entry in an image index."""
        found = {"os": "linux", "architecture": self.platform.architecture}
        if self.platform.variant:
            found["variant"] = self.platform.variant
        return found


def assemble_variant(
    engine: Engine,
    plan: BuildPlan,
    host_image: str,
    host_base: Mapping[str, Any],
    platform: Platform,
    base: ForeignBase,
    wheels: list[Path],
    layout: Path,
    epoch: int,
) -> Variant:
    """Write `platform`'s image into `layout` (blobs of unchanged layers kept) and return it."""
    if base.python != plan.python:
        raise BuildError(
            f"the {platform.name} base ({base.description}) has Python {base.python}, the "
            f"project asks for {plan.python} (project.python): use {base.python} to build for "
            f"{platform.name}"
        )
    current = _unchanged(layout, platform, host_image, base.diff_id)
    if current is not None:
        return current
    shared_count = len(plan.baked) + 2  # artifacts, dockyard, app: the image's last layers
    with tempfile.TemporaryDirectory(prefix="dockyard-variant-") as tmp:
        work = Path(tmp)
        host_venv, *shared = _host_layers(engine, host_image, shared_count + 1, work)
        own = [_user_layer(base, plan.uid, work), _venv_layer(wheels, base, work, host_venv)]
        settings = {
            "Architecture": platform.architecture,
            "Os": "linux",
            "Variant": platform.variant,
            "Config": host_base.get("Config") or {},
            "RootFS": {"Layers": [base.diff_id]},
        }
        history = [{"created": iso(0), "created_by": f"dockyard: {base.description}"}]
        config = image_config(plan, settings, history, [*own, *shared], epoch)
        layers = [(base.diff_id, base.layer), *((x.diff_id, x.path) for x in [*own, *shared])]
        return write_layout(layout, platform, config, layers, host_image, base.diff_id)


def read_variant(layout: Path, platform: Platform) -> Variant:
    """The variant last written into `layout`; BuildError when there is none."""
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
        entry = index["manifests"][0]
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise BuildError(
            f"no {platform.name} image in {layout}: run `dockyard build` first"
        ) from exc
    manifest = Descriptor(entry["mediaType"], entry["digest"], int(entry["size"]))
    body = json.loads(blob_path(layout, manifest.digest).read_bytes())
    size = sum(int(x["size"]) for x in body["layers"])
    return Variant(platform, layout, manifest, entry["annotations"][HOST_IMAGE], size)


def _unchanged(
    layout: Path, platform: Platform, host_image: str, base_layer: str
) -> Variant | None:
    """The variant in `layout` when it was made with this host image and base: the host image's
    id covers the rest (the lock, so the wheels; the uid, the app, dockyard, the config)."""
    try:
        entry = json.loads((layout / "index.json").read_text(encoding="utf-8"))["manifests"][0]
        variant = read_variant(layout, platform)
    except (OSError, ValueError, KeyError, IndexError, BuildError):
        return None
    same = variant.host_image == host_image and entry["annotations"].get(BASE_LAYER) == base_layer
    return variant if same else None


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def _host_layers(engine: Engine, image: str, count: int, work: Path) -> list[OwnLayer]:
    """The last `count` layers of the building machine's image, from `docker save`, with their
    history lines."""
    archive = work / "host.tar"
    with archive.open("wb") as out:
        for chunk in engine.api.get_image(image):
            out.write(chunk)
    made: list[OwnLayer] = []
    with tarfile.open(archive) as tar:
        manifest = json.loads(_member(tar, "manifest.json"))[0]
        config = json.loads(_member(tar, manifest["Config"]))
        diff_ids = config["rootfs"]["diff_ids"][-count:]
        created = [h for h in config["history"] if not h.get("empty_layer")][-count:]
        for index, (diff_id, path, entry) in enumerate(
            zip(diff_ids, manifest["Layers"][-count:], created, strict=True)
        ):
            dest = work / f"host-{index}.tar"
            handle = tar.extractfile(path)
            if handle is None:
                raise BuildError(f"`docker save` of {image} lacks {path}")
            with dest.open("wb") as out:
                copied = f"sha256:{copy_hashed(handle, out)}"  # one pass over the layer
            if copied != diff_id:
                raise BuildError(f"a layer of {image} does not match its diff id {diff_id}")
            made.append(OwnLayer(diff_id, str(entry.get("created_by", "")), dest))
    archive.unlink()
    return made


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    if handle is None:
        raise BuildError(f"`docker save` gave no {name}")
    return handle.read()


def _user_layer(base: ForeignBase, uid: int, work: Path) -> OwnLayer:
    """The base's /etc/passwd and /etc/group with the runtime user added (the stage's RUN)."""
    added = user_lines(uid)
    entries = [
        Entry(f"etc/{n}", data=base.read(f"etc/{n}") + f"{added[n]}\n".encode()) for n in added
    ]
    buffer = io.BytesIO()
    write_tar(entries, buffer)
    buffer.seek(0)
    dest = work / "user.tar"
    with dest.open("wb") as out:
        written = normalize(buffer, out, moved("etc", "etc"))
    return OwnLayer(written.diff_id, "dockyard: the runtime user in /etc/passwd", dest)


def _venv_layer(wheels: list[Path], base: ForeignBase, work: Path, host_venv: OwnLayer) -> OwnLayer:
    """The platform's venv, with the host venv's start-up bytecode where the sources match."""
    venv = stage_venv(wheels, base, work / "staging")
    if host_venv.path is not None:
        copy_bytecode(host_venv.path, work / "staging")
        host_venv.path.unlink()
    raw = work / "venv-raw.tar"
    with tarfile.open(raw, "w") as tar:
        tar.add(venv, arcname="venv")
    dest = work / "venv.tar"
    with raw.open("rb") as src, dest.open("wb") as out:
        written = normalize(src, out, moved("venv", VENV))
    raw.unlink()
    return OwnLayer(written.diff_id, f"dockyard: COPY dependencies in {VENV}", dest)


def write_layout(
    layout: Path,
    platform: Platform,
    config: bytes,
    layers: list[tuple[str, Path | None]],
    host_image: str,
    base_layer: str = "",
) -> Variant:
    """Blobs (gzip, no time or name in the header: the same layer, the same blob), manifest,
    index.json; blobs no longer referenced are removed."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    known = _known(layout)
    descriptors = []
    for diff_id, path in layers:
        held = known.get(diff_id)
        if held is None or not blob_path(layout, held["digest"]).is_file():
            if path is None:
                raise BuildError(f"layer {diff_id} is neither written nor kept in {layout}")
            held = _compress(path, blobs)
        known[diff_id] = held
        descriptors.append(Descriptor(LAYER, str(held["digest"]), int(held["size"])))
    config_blob = _put(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": Descriptor(CONFIG, config_blob, len(config)).as_json(),
        "layers": [d.as_json() for d in descriptors],
    }
    body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    described = Descriptor(MANIFEST, _put(blobs, body), len(body))
    variant = Variant(platform, layout, described, host_image, sum(d.size for d in descriptors))
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                **described.as_json(),
                "platform": variant.platform_json(),
                "annotations": {HOST_IMAGE: host_image, BASE_LAYER: base_layer},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}', encoding="utf-8")
    kept = {d.digest for d in descriptors} | {config_blob, described.digest}
    for blob in blobs.iterdir():
        if f"sha256:{blob.name}" not in kept:
            blob.unlink()
    live = {k: v for k, v in known.items() if v["digest"] in kept}
    (layout / _DIFF_IDS).write_text(json.dumps(live, indent=1), encoding="utf-8")
    return variant


def _known(layout: Path) -> dict[str, dict[str, Any]]:
    try:
        return dict(json.loads((layout / _DIFF_IDS).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _compress(path: Path, blobs: Path) -> dict[str, Any]:
    tmp = blobs / "incoming.gz"
    with tmp.open("wb") as raw, path.open("rb") as src:
        hashing = Hashing(raw)  # the compressed blob, digested as it is written
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=6) as gz:
            shutil.copyfileobj(src, gz, 1 << 20)
    name = hashing.digest.hexdigest()
    tmp.rename(blobs / name)
    return {"digest": f"sha256:{name}", "size": hashing.size}


def _put(blobs: Path, data: bytes) -> str:
    name = hashlib.sha256(data).hexdigest()
    (blobs / name).write_bytes(data)
    return f"sha256:{name}"


__all__ = [
    "CONFIG",
    "HOST_IMAGE",
    "INDEX",
    "LAYER",
    "Variant",
    "assemble_variant",
    "blob_path",
    "read_variant",
    "write_layout",
]
