"""`dockyard run` of an image whose spec names TLS secrets: HTTPS from the container, and the
image's own HEALTHCHECK passes over it."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from dockyard.errors import EngineError
from dockyard.image import probe
from dockyard.image.builder import build_image
from dockyard.image.container import RunSettings
from dockyard.image.engine import Engine
from dockyard.image.launch import launch, teardown
from dockyard.image.secrets import find_secrets
from dockyard.spec import load_spec
from tests.image.test_engine import BASE
from tests.security.certs import CERT, tls_project

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def test_run_serves_https_with_the_secret_cert_and_its_healthcheck_passes(
    tmp_path: Path,
) -> None:
    try:
        engine = Engine.connect(timeout=30)
    except EngineError:
        pytest.skip("no container engine answers")
    if engine.image(BASE) is None:
        pytest.skip(f"base image {BASE} missing")
    root = tls_project(tmp_path / "echo-tls")
    spec = load_spec(root)
    tag = f"dockyard-test/lockdoors-tls:{tmp_path.name[-8:].lower()}"
    build_image(root, BASE, tag, Console(quiet=True))
    launched = launch(
        engine, spec, root, RunSettings(image=tag), find_secrets(spec, root, [], {}), 120
    )
    try:
        assert launched.url.startswith("https://127.0.0.1:")
        verify = ssl.create_default_context(cafile=str(root / ".dockyard/secrets" / CERT))
        answer = httpx.post(launched.url + "/predict", json={"inputs": ["x"]}, verify=verify)
        assert answer.status_code == 200 and answer.json()["outputs"] == ["x"]
        # the gate's own client (`dockyard test`) trusts the same certificate, and only it
        assert probe.predict(launched.url, ["x"], tls=launched.tls) == ["x"]
        assert probe.timed_requests(launched.url, "x", 8, 2, tls=launched.tls)[1] == 0
        assert probe.timed_requests(launched.url, "x", 2, 1)[1] == 2  # unverified: refused
        check = engine.inspect(launched.api)["Config"]["Healthcheck"]["Test"][1:]
        code, out = engine.exec(launched.api, check)
        assert code == 0, out
    finally:
        teardown(engine, launched)
        engine.remove_image(tag)
