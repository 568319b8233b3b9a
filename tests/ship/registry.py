"""A real Distribution registry (Debian's `docker-registry`) on 127.0.0.1 for the ship tests.

Plain HTTP on loopback (the engine allows that for 127.0.0.0/8), or TLS with a CA made here and
htpasswd basic auth: the CA goes where the engine and Dockyard both look for it
(`/etc/docker/certs.d/HOST:PORT/ca.crt`) and is removed afterwards.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import bcrypt
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import free_port

CERTS_D = Path("/etc/docker/certs.d")


class LocalRegistry:
    """`docker-registry serve` with its own storage, port, and optionally TLS + basic auth."""

    def __init__(self, work: Path, tls: bool = False, user: str = "", password: str = "") -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.tls = tls
        config = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(work / "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host},
        }  # fmt: skip
        if user:
            htpasswd = work / "htpasswd"
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
            htpasswd.write_text(f"{user}:{hashed}\n")
            config["auth"] = {"htpasswd": {"realm": "dockyard-test", "path": str(htpasswd)}}
        if tls:
            cert, key = _certificate(work)
            config["http"]["tls"] = {"certificate": str(cert), "key": str(key)}
            (CERTS_D / self.host).mkdir(parents=True, exist_ok=True)
            shutil.copy(cert, CERTS_D / self.host / "ca.crt")
        (work / "config.yml").write_text(json.dumps(config))  # JSON is YAML
        self.log = (work / "registry.log").open("wb")
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(work / "config.yml")],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait()

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def docker_config(self, user: str, password: str) -> Path:
        """A DOCKER_CONFIG folder logged in to this registry, as `docker login` leaves it."""
        folder = self.work / "docker-config"
        folder.mkdir(exist_ok=True)
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        (folder / "config.json").write_text(json.dumps({"auths": {self.host: {"auth": auth}}}))
        return folder

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(CERTS_D / self.host, ignore_errors=True)

    def _wait(self) -> None:
        ca = str(CERTS_D / self.host / "ca.crt")
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if self.tls else True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError((self.work / "registry.log").read_text())
            try:
                httpx.get(f"{self.base}/v2/", verify=verify, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"registry never answered: {(self.work / 'registry.log').read_text()}")


def _certificate(work: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard-test-registry")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = work / "registry.crt", work / "registry.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def put_image(registry: LocalRegistry, name: str, tag: str = "0.1.0") -> str:
    """A minimal OCI image (an empty config, no layers) pushed by hand; its manifest digest.

    Enough to sign, attach to and verify without building anything.
    """
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": []}}).encode()  # fmt: skip
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    base = f"{registry.base}/v2/{name}"
    started = httpx.post(f"{base}/blobs/uploads/")
    location = started.headers["location"]
    location = location if location.startswith("http") else registry.base + location
    joiner = "&" if "?" in location else "?"
    httpx.put(f"{location}{joiner}digest={digest}", content=config).raise_for_status()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest,
                   "size": len(config)},
        "layers": [],
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    httpx.put(f"{base}/manifests/{tag}", content=manifest, headers=headers).raise_for_status()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()
