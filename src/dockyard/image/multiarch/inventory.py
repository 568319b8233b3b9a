"""What another platform's image holds, for its own SBOM: nothing of it can run here to list its
packages (the building machine's SBOM asks the running image), so they are read from what the
image was made of: the dpkg database of its base and the wheels the lock pins for it."""

from __future__ import annotations

import gzip
import json
import tarfile
from dataclasses import replace
from pathlib import Path

from packaging.utils import canonicalize_name

from dockyard.image import sbom
from dockyard.image.lock import Lock
from dockyard.image.multiarch.image import Variant, blob_path

DPKG_STATUS = "var/lib/dpkg/status"


def variant_sbom(variant: Variant, name: str, version: str, lock: Lock) -> str:
    """The CycloneDX SBOM of `variant`: its base's Debian packages and its platform's wheels
    (with their hashes), the image named by its manifest digest."""
    manifest = json.loads(blob_path(variant.layout, variant.manifest.digest).read_bytes())
    config = json.loads(blob_path(variant.layout, manifest["config"]["digest"]).read_bytes())
    status = _member(blob_path(variant.layout, manifest["layers"][0]["digest"]), DPKG_STATUS)
    pins = lock.pins_for(variant.platform.name) or ()
    wheels = [sbom.Package("pypi", canonicalize_name(e.name), e.version) for e in pins]
    packages = sorted(sbom.parse_dpkg(status.decode()) + wheels)
    digest = variant.manifest.digest
    return sbom.render(
        name, version, digest, config["created"], packages, replace(lock, entries=pins)
    )


def _member(layer: Path, name: str) -> bytes:
    """One file of a gzip layer blob (empty when the layer has none)."""
    with gzip.open(layer) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        for info in tar:
            if info.name == name:
                handle = tar.extractfile(info)
                return handle.read() if handle else b""
    return b""


__all__ = ["variant_sbom"]
