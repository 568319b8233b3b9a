"""HTTPS served by the process itself: certificate and key come as secret files.

Only the standard library is imported at module level: the image's health check uses
`pinned_context` every few seconds. Resolution order for the files: DOCKYARD_TLS_CERT_FILE and
DOCKYARD_TLS_KEY_FILE (what images set), else /run/secrets/NAME, else the project's
.dockyard/secrets/NAME (for `dockyard serve`); NAME from `auth.tls_cert_secret` / `_key_secret`.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.spec import Spec

CERT_ENV = "DOCKYARD_TLS_CERT_FILE"
KEY_ENV = "DOCKYARD_TLS_KEY_FILE"
SECRETS_DIR = Path("/run/secrets")


@dataclass(frozen=True)
class TlsFiles:
    """The PEM certificate (chain after the leaf) and its private key."""

    cert: Path
    key: Path


def tls_files(
    spec: Spec, root: Path, environ: Mapping[str, str], secrets_dir: Path = SECRETS_DIR
) -> TlsFiles | None:
    """The files to serve HTTPS with, checked to load; None when the spec asks for plain HTTP."""
    if environ.get(CERT_ENV) and environ.get(KEY_ENV):
        files = TlsFiles(Path(environ[CERT_ENV]), Path(environ[KEY_ENV]))
    elif spec.auth.tls:
        cert = _secret(spec.auth.tls_cert_secret, "auth.tls_cert_secret", root, secrets_dir)
        key = _secret(spec.auth.tls_key_secret, "auth.tls_key_secret", root, secrets_dir)
        files = TlsFiles(cert, key)
    else:
        return None
    _check_loads(files)
    return files


def _secret(name: str, field: str, root: Path, secrets_dir: Path) -> Path:
    for candidate in (secrets_dir / name, root / ".dockyard/secrets" / name):
        if candidate.is_file():
            return candidate
    from dockyard.errors import SpecError, SpecProblem

    where = f"a PEM file at {secrets_dir}/{name} or .dockyard/secrets/{name}"
    raise SpecError([SpecProblem("dockyard.toml", field, name, where)])


def _check_loads(files: TlsFiles) -> None:
    """A clear start-up error for a wrong or unreadable pair, before uvicorn binds."""
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as exc:
        from dockyard.errors import SpecError, SpecProblem

        expected = "a PEM certificate and the private key that matches it (unencrypted)"
        problem = SpecProblem(str(files.cert), "auth.tls_cert_secret", str(files.key), expected)
        raise SpecError([problem]) from exc


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client context that trusts exactly the service's own certificate (the health check).

    The certificate names the public host, not 127.0.0.1, so the name is not checked; the
    chain is: the leaf itself is the trust anchor (partial chain), whoever issued it.
    """
    context = ssl.create_default_context(cadata=cert_pem)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context
