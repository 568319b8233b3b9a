"""Signatures over image digests with a key pair the user owns (Ed25519, PEM files).

The signed payload is the "simple signing" JSON that cosign also signs: it names the repository
and the manifest digest, so a signature cannot be moved to another image. It is stored in the
registry as an OCI artifact at the tag `sha256-<hex>.sig` with the base64 signature in the
`dev.cosignproject.cosign/signature` annotation, which is cosign's own layout. Dockyard signs
with Ed25519 where cosign's default keys are ECDSA P-256; see docs/ship.md.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dockyard.errors import BuildError, ReleaseError
from dockyard.image.oci import Artifact

PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def generate_keys(private: Path, public: Path) -> None:
    """Write a new key pair; the private key is created 0600 and never overwritten."""
    for path in (private, public):
        if path.exists():
            raise BuildError(f"{path} exists: keys are never overwritten; move it away first")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def payload(repository: str, digest: str, annotations: dict[str, str]) -> bytes:
    """The simple-signing document for `repository@digest` (canonical JSON)."""
    document = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": dict(sorted(annotations.items())),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def sign(private_key: Path, repository: str, digest: str, annotations: dict[str, str]) -> Artifact:
    """The signature artifact for `repository@digest`, ready to attach in the registry."""
    key = _load_private(private_key)
    body = payload(repository, digest, annotations)
    signature = base64.b64encode(key.sign(body)).decode()
    return Artifact(ARTIFACT_TYPE, PAYLOAD_TYPE, body, {SIGNATURE_ANNOTATION: signature})


def verify(
    public_key: Path, repository: str, digest: str, body: bytes, annotations: dict[str, str]
) -> dict[str, str]:
    """Check a signature artifact against the key and the image; return its annotations."""
    key = _load_public(public_key)
    signature = annotations.get(SIGNATURE_ANNOTATION, "")
    try:
        key.verify(base64.b64decode(signature, validate=True), body)
    except (InvalidSignature, ValueError) as exc:
        raise ReleaseError(f"the signature of {digest} does not verify with {public_key}") from exc
    critical = json.loads(body)["critical"]
    if critical["image"]["docker-manifest-digest"] != digest:
        raise ReleaseError(f"the signature is for another image, not {digest}")
    if critical["identity"]["docker-reference"] != repository:
        raise ReleaseError(
            f"the signature is for {critical['identity']['docker-reference']}, not {repository}"
        )
    return dict(json.loads(body).get("optional", {}))


def check_key(path: Path) -> None:
    """Fail now, not after a push, when the signing key cannot be used."""
    _load_private(path)


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BuildError(f"{path} is not an Ed25519 key: make one with `dockyard keygen`")
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the public key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise BuildError(f"{path} is not an Ed25519 public key")
    return key
