"""The other platform's OCI layout (no engine): deterministic blobs, a manifest naming them,
an index entry with the platform, old blobs dropped, and push refusing a stale layout."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.image.multiarch.image import (
    CONFIG,
    HOST_IMAGE,
    LAYER,
    blob_path,
    read_variant,
    write_layout,
)
from dockyard.image.multiarch.platform import ARM64
from dockyard.image.oci import MANIFEST
from dockyard.image.wheelhouse import sha256_file


def _layer(tmp: Path, name: str, data: bytes) -> tuple[str, Path]:
    path = tmp / name
    path.write_bytes(data)
    return f"sha256:{sha256_file(path)}", path


def test_layout_names_every_blob_and_the_platform(tmp_path: Path) -> None:
    layout = tmp_path / "linux-arm64"
    layers = [_layer(tmp_path, "a.tar", b"a" * 4096), _layer(tmp_path, "b.tar", b"b" * 4096)]
    variant = write_layout(layout, ARM64, b'{"architecture":"arm64"}', layers, "sha256:host")
    index = json.loads((layout / "index.json").read_text())
    entry = index["manifests"][0]
    assert entry["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}
    assert entry["annotations"][HOST_IMAGE] == "sha256:host"
    assert entry["digest"] == variant.manifest.digest and entry["mediaType"] == MANIFEST
    manifest = json.loads(blob_path(layout, variant.manifest.digest).read_bytes())
    assert manifest["config"]["mediaType"] == CONFIG
    for (_, raw), described in zip(layers, manifest["layers"], strict=True):
        assert described["mediaType"] == LAYER
        blob = blob_path(layout, described["digest"])
        assert f"sha256:{sha256_file(blob)}" == described["digest"]
        assert gzip.decompress(blob.read_bytes()) == raw.read_bytes()
    assert read_variant(layout, ARM64) == variant


def test_same_layers_same_blobs_and_stale_blobs_go(tmp_path: Path) -> None:
    layout = tmp_path / "linux-arm64"
    a, b = _layer(tmp_path, "a.tar", b"a" * 4096), _layer(tmp_path, "b.tar", b"b" * 4096)
    first = write_layout(layout, ARM64, b"{}", [a, b], "sha256:one")
    again = write_layout(layout, ARM64, b"{}", [a, b], "sha256:one")
    assert again.manifest == first.manifest  # gzip without time or name: the same bytes
    c = _layer(tmp_path, "c.tar", b"c" * 4096)
    third = write_layout(layout, ARM64, b"{}", [a, c], "sha256:two")
    kept = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    manifest = json.loads(blob_path(layout, third.manifest.digest).read_bytes())
    named = {d["digest"].split(":")[1] for d in [manifest["config"], *manifest["layers"]]}
    assert kept == named | {third.manifest.digest.split(":")[1]}


def test_no_layout_is_refused_with_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="run `dockyard build` first"):
        read_variant(tmp_path / "linux-arm64", ARM64)
