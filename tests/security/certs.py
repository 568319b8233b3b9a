"""Real self-signed certificates for the TLS tests, made with `cryptography`."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.projects import MODELS
from tests.support.toml import write_toml

CERT, KEY = "tls_cert", "tls_key"


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A P-256 key and a certificate for `host` (and localhost) valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CERT, directory / KEY
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def tls_project(root: Path, **tables: object) -> Path:
    """The echo model with auth.tls_* naming two declared secrets, written to .dockyard/secrets."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / "echo.py", root / "echo.py")
    auth = {"tls_cert_secret": CERT, "tls_key_secret": KEY, **tables.pop("auth", {})}  # type: ignore[dict-item]
    write_toml(root / "dockyard.toml", {
        "secrets": [CERT, KEY],
        "project": {"name": "echo-tls"},
        "model": {"entrypoint": "echo:Echo"},
        "auth": auth,
        **tables,
    })  # fmt: skip
    self_signed(root / ".dockyard" / "secrets")
    return root
