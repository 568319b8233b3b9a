"""The service speaks HTTPS itself when the spec names a certificate and key secret."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dockyard.errors import SpecError
from dockyard.runtime.entry.tls import tls_files
from dockyard.spec import load_spec
from tests.conftest import Server, free_port
from tests.security.certs import CERT, self_signed, tls_project

pytestmark = pytest.mark.slow  # starts real server processes


def trusting(cert: Path) -> ssl.SSLContext:
    """A client that verifies the server's chain and name against this one certificate."""
    return ssl.create_default_context(cafile=str(cert))


def wait_https(server: Server, port: int, verify: ssl.SSLContext, timeout: float = 60.0) -> str:
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.alive, server.log.read_text()
        try:
            if httpx.get(url + "/readyz", verify=verify, timeout=2).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"never ready over https:\n{server.log.read_text()}")


def healthcheck(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dockyard.runtime", "healthcheck", *args]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_serve_answers_https_verified_against_its_cert_and_the_healthcheck_trusts_only_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    root = tls_project(tmp_path / "project", serving={"port": port})
    cert = root / ".dockyard" / "secrets" / CERT
    server = Server(root, "--port", str(port))
    try:
        url = wait_https(server, port, trusting(cert))
        answer = httpx.post(url + "/predict", json={"inputs": ["hi"]}, verify=trusting(cert))
        assert answer.status_code == 200 and answer.json()["outputs"] == ["hi"]
        with pytest.raises(httpx.TransportError):  # plain HTTP gets no answer on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        other, _ = self_signed(tmp_path / "other")
        with pytest.raises(httpx.ConnectError):  # a client trusting another cert refuses it
            httpx.get(url + "/readyz", verify=trusting(other))

        # the image's path: port and certificate from the environment, stdlib only
        image = {"DOCKYARD_PORT": str(port), "DOCKYARD_TLS_CERT_FILE": str(cert)}
        assert healthcheck(env=image).returncode == 0
        pinned = healthcheck(env={**image, "DOCKYARD_TLS_CERT_FILE": str(other)})
        assert pinned.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in pinned.stderr
        assert healthcheck(env={**image, "DOCKYARD_TLS_CERT_FILE": ""}).returncode == 1
        # the spec's path: the certificate found from auth.tls_cert_secret
        spec_path = healthcheck(str(root), env={"DOCKYARD_PORT": "", "DOCKYARD_TLS_CERT_FILE": ""})
        assert spec_path.returncode == 0, spec_path.stderr
    finally:
        assert server.stop() == 0


def test_a_key_that_does_not_match_the_certificate_is_a_clear_start_up_error(
    tmp_path: Path,
) -> None:
    root = tls_project(tmp_path / "project")
    _, stranger = self_signed(tmp_path / "other")
    (root / ".dockyard/secrets/tls_key").write_bytes(stranger.read_bytes())
    with pytest.raises(SpecError, match=r"auth\.tls_cert_secret.*private key that matches"):
        tls_files(load_spec(root), root, {}, tmp_path / "no-secrets")


def test_missing_tls_secret_files_name_the_spec_key(tmp_path: Path) -> None:
    root = tls_project(tmp_path / "project")
    (root / ".dockyard/secrets/tls_cert").unlink()
    with pytest.raises(SpecError, match=r"auth.tls_cert_secret.*\.dockyard/secrets/tls_cert"):
        tls_files(load_spec(root), root, {}, tmp_path / "no-secrets")


def test_tls_secrets_must_be_declared_and_come_in_pairs(tmp_path: Path) -> None:
    root = tls_project(tmp_path / "project")
    text = (root / "dockyard.toml").read_text()
    (root / "dockyard.toml").write_text(re.sub(r"secrets = \[[^\]]*\]\n", "", text))
    with pytest.raises(SpecError, match="listed in `secrets`"):
        load_spec(root)
    (root / "dockyard.toml").write_text(text.replace('tls_key_secret = "tls_key"\n', ""))
    with pytest.raises(SpecError, match="set together"):
        load_spec(root)
