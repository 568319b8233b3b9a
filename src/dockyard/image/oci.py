"""A small client of the registry HTTP API (OCI distribution) for what the engine cannot push.

The engine pushes images; the other platforms' images of a multi-platform build (blobs from a
file, a manifest, the image index over them) and SBOMs and signatures are pushed here. SBOMs and
signatures are OCI artifacts that refer to an image by
digest (`subject`), stored under the tag `sha256-<hex>.<kind>` so registries without the
referrers API (most of those in use, Distribution 2.x included) can still find them. This is
the layout cosign uses for its signatures.

Credentials are read from the user's Docker config (`docker login`), TLS trust from Docker's own
`/etc/docker/certs.d/<host>/ca.crt`, so one setup serves the engine and this client. Loopback
registries without such a file are spoken to over plain HTTP, as the engine does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import docker.auth
import httpx

from dockyard.errors import EngineError

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
ACCEPT = ", ".join(
    (
        MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
CERTS_D = Path("/etc/docker/certs.d")
_LOOPBACK = ("127.", "localhost", "[::1]")


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest points at."""

    media_type: str
    digest: str
    size: int

    def as_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Artifact:
    """A blob of `media_type` attached to an image; annotations go on the blob's descriptor."""

    artifact_type: str
    media_type: str
    content: bytes
    annotations: dict[str, str]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def pinned(reference: str, repo_digests: list[str]) -> str:
    """`reference` by digest when it is known: as written if pinned, else the engine's record of
    the digest it was pulled by (`RepoDigests`) for the same repository; else `reference`
    itself (an image built or tagged locally has no registry digest)."""
    if "@sha256:" in reference or not reference:
        return reference
    last = reference.rsplit("/", 1)[-1]
    repository = reference.rsplit(":", 1)[0] if ":" in last else reference
    same = [d for d in repo_digests if d.split("@", 1)[0] == _canonical(repository)]
    return same[0] if same else reference


def _canonical(repository: str) -> str:
    """How the engine names a Docker Hub repository in RepoDigests (`python` -> `python`)."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if repository.startswith(prefix):
            return repository.removeprefix(prefix)
    return repository


def attached_tag(digest: str, kind: str) -> str:
    """`sha256:ab..` + `sbom` -> `sha256-ab...sbom`: the tag an artifact for `digest` lives at."""
    return digest.replace(":", "-") + f".{kind}"


class Registry:
    """One repository (`host[:port]/path/name`) on one registry, spoken to over HTTP."""

    def __init__(self, repository: str, timeout: float = 30.0) -> None:
        self.host, _, self.name = repository.partition("/")
        if not self.name or not _is_host(self.host):
            raise EngineError(
                f"{repository!r} names no registry host: use HOST[:PORT]/NAMESPACE/NAME"
            )
        self.base = f"{_scheme(self.host)}://{self.host}/v2/{self.name}"
        self.client = httpx.Client(timeout=timeout, verify=_trust(self.host))
        self._auth = _credentials(self.host)
        self._authorization: str | None = None

    def close(self) -> None:
        self.client.close()

    def manifest(self, reference: str) -> tuple[Descriptor, dict[str, Any]]:
        """The manifest at a tag or digest, and its descriptor (digest from the registry)."""
        response = self._call("GET", f"/manifests/{reference}", headers={"Accept": ACCEPT})
        media = response.headers.get("content-type", MANIFEST).split(";")[0]
        digest = response.headers.get("docker-content-digest") or sha256(response.content)
        return Descriptor(media, digest, len(response.content)), dict(response.json())

    def blob(self, digest: str) -> bytes:
        data = self._call("GET", f"/blobs/{digest}").content
        if sha256(data) != digest:
            raise EngineError(f"blob {digest} from {self.host} does not match its digest")
        return data

    def attach(self, subject: str, kind: str, artifact: Artifact) -> str:
        """Push `artifact` as referring to the image at digest `subject`; return its digest."""
        image, _ = self.manifest(subject)
        self._upload(EMPTY_BLOB)
        self._upload(artifact.content)
        layer = Descriptor(artifact.media_type, sha256(artifact.content), len(artifact.content))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": artifact.artifact_type,
            "config": Descriptor(EMPTY, sha256(EMPTY_BLOB), len(EMPTY_BLOB)).as_json(),
            "layers": [{**layer.as_json(), "annotations": artifact.annotations}],
            "subject": image.as_json(),
        }
        body = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
        tag = attached_tag(subject, kind)
        self._call("PUT", f"/manifests/{tag}", content=body, headers={"Content-Type": MANIFEST})
        return sha256(body)

    def attached(self, subject: str, kind: str) -> tuple[bytes, dict[str, str]]:
        """The blob and annotations of the `kind` artifact attached to `subject`."""
        tag = attached_tag(subject, kind)
        _, manifest = self.manifest(tag)
        if manifest.get("subject", {}).get("digest") != subject:
            raise EngineError(f"the {kind} at {tag} refers to another image")
        layer = manifest["layers"][0]
        return self.blob(str(layer["digest"])), dict(layer.get("annotations", {}))

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> str:
        """Store a manifest or index at a tag or its digest; return its digest."""
        self._call(
            "PUT", f"/manifests/{reference}", content=body, headers={"Content-Type": media_type}
        )
        return sha256(body)

    def upload_file(self, path: Path, digest: str) -> None:
        """Upload the blob in `path` (its digest known), streamed, unless the registry has it."""
        if self._has(digest):
            return
        with path.open("rb") as handle:
            size = str(path.stat().st_size)
            self._put_blob(digest, handle, {"Content-Length": size})

    def _upload(self, data: bytes) -> None:
        digest = sha256(data)
        if not self._has(digest):
            self._put_blob(digest, data, {})

    def _has(self, digest: str) -> bool:
        return self._call("HEAD", f"/blobs/{digest}", ok=(200, 404)).status_code == 200

    def _put_blob(self, digest: str, content: bytes | BinaryIO, headers: dict[str, str]) -> None:
        """A monolithic upload: start a session, PUT the whole blob to it."""
        start = self._call("POST", "/blobs/uploads/", ok=(202,))
        location = start.headers["location"]
        if location.startswith("/"):
            location = f"{self.base.split('/v2/')[0]}{location}"
        joiner = "&" if "?" in location else "?"
        sent = {"Content-Type": "application/octet-stream", **headers}
        self._call("PUT", f"{location}{joiner}digest={digest}", content=content, headers=sent)

    def _call(
        self,
        method: str,
        path: str,
        ok: tuple[int, ...] = (200, 201, 202),
        headers: dict[str, str] | None = None,
        content: bytes | BinaryIO | None = None,
    ) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        try:
            response = self._send(method, url, headers, content)
            if response.status_code == 401:
                self._authenticate(response)
                response = self._send(method, url, headers, content)
        except httpx.HTTPError as exc:
            raise EngineError(f"registry {self.host} did not answer: {exc}") from exc
        if response.status_code not in ok:
            raise EngineError(
                f"registry {self.host}: {method} {path.split('?')[0]} answered "
                f"{response.status_code} {response.text[:200]}"
            )
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        content: bytes | BinaryIO | None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if self._authorization:
            sent["Authorization"] = self._authorization
        return self.client.request(method, url, headers=sent, content=content)

    def _authenticate(self, challenge: httpx.Response) -> None:
        """Answer a Basic or Bearer (token server) challenge with the Docker config's login."""
        if not self._auth:
            raise EngineError(
                f"registry {self.host} wants credentials: run `docker login {self.host}`"
            )
        user, password = self._auth
        scheme, _, params = challenge.headers.get("www-authenticate", "").partition(" ")
        if scheme.lower() == "basic":
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._authorization = f"Basic {pair}"
            return
        fields = dict(_challenge_fields(params))
        query = {"service": fields.get("service", ""), "scope": fields.get("scope", "")}
        token = self.client.get(fields["realm"], params=query, auth=(user, password))
        if token.status_code != 200:
            raise EngineError(f"registry {self.host} refused the login ({token.status_code})")
        body = token.json()
        self._authorization = f"Bearer {body.get('token') or body.get('access_token')}"


def _challenge_fields(params: str) -> list[tuple[str, str]]:
    pairs = []
    for part in params.split('",'):
        key, _, value = part.partition("=")
        pairs.append((key.strip(), value.strip().strip('"')))
    return pairs


def _is_host(first: str) -> bool:
    """Docker's rule: a first path part with a dot or a port, or `localhost`, is a host."""
    return "." in first or ":" in first or first == "localhost"


def _scheme(host: str) -> str:
    if (CERTS_D / host / "ca.crt").is_file():
        return "https"
    return "http" if host.startswith(_LOOPBACK) else "https"


def _trust(host: str) -> ssl.SSLContext | bool:
    ca = CERTS_D / host / "ca.crt"
    return ssl.create_default_context(cafile=str(ca)) if ca.is_file() else True


def _credentials(host: str) -> tuple[str, str] | None:
    """User and password for `host` from the Docker config (`DOCKER_CONFIG` honoured)."""
    config = docker.auth.load_config(config_path=None, credstore_env=dict(os.environ))
    found = docker.auth.resolve_authconfig(config, registry=host)
    if not found or "username" not in found:
        return None
    return str(found["username"]), str(found.get("password", ""))
