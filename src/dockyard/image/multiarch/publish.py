"""Push the other platforms' images from their OCI layouts, then one image index over them and
the building machine's image (already pushed by the engine) at the tag.

Engines and Kubernetes pull the index by the digest `push` returns and pick their platform.
"""

from __future__ import annotations

import json

from dockyard.image.distribution import Pushed
from dockyard.image.multiarch.image import INDEX, Variant, blob_path
from dockyard.image.multiarch.platform import Platform, host
from dockyard.image.oci import MANIFEST, Descriptor, Registry, sha256


def publish(
    registry: Registry, tag: str, host: Descriptor, platform: Platform, variants: list[Variant]
) -> Descriptor:
    """Push every variant's blobs and manifest, then the index at `tag`; return the index."""
    entries = [
        {**host.as_json(), "platform": {"os": "linux", "architecture": platform.architecture}}
    ]
    for variant in variants:
        body = blob_path(variant.layout, variant.manifest.digest).read_bytes()
        manifest = json.loads(body)
        for blob in (manifest["config"], *manifest["layers"]):
            registry.upload_file(blob_path(variant.layout, blob["digest"]), blob["digest"])
        registry.put_manifest(variant.manifest.digest, body, MANIFEST)
        entries.append({**variant.manifest.as_json(), "platform": variant.platform_json()})
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    body = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    registry.put_manifest(tag, body, INDEX)
    return Descriptor(INDEX, sha256(body), len(body))


def with_variants(registry: Registry, pushed: Pushed, variants: list[Variant]) -> Pushed:
    """The engine's push of the building machine's image, made multi-platform: the index's
    digest is what every later step names (an engine pulling it picks its own platform)."""
    if not variants:
        return pushed
    own, _ = registry.manifest(pushed.digest)
    index = publish(registry, pushed.tag, own, host(), variants)
    return Pushed(pushed.repository, pushed.tag, index.digest, index.size)


__all__ = ["publish", "with_variants"]
