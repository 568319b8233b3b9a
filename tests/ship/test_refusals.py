"""What a release step refuses, with the real pieces and no engine: an image signed by another
key is never deployed, and a failing staging service blocks its promotion.

A real registry (Debian's `docker-registry`) holds a hand-made image, signed with
`dockyard sign`; a real `dockyard serve` process plays a staging service that answers wrongly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.deploy import releases
from dockyard.deploy.releases import Event, Image, Record
from dockyard.image import sbom
from dockyard.image.oci import Artifact, Registry
from tests.conftest import Server
from tests.support.cli import cli as _cli

from .registry import LocalRegistry, put_image

FIXTURE = Path(__file__).parents[1] / "image" / "fixtures" / "linear"
pytestmark = pytest.mark.slow


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    found = LocalRegistry(tmp_path / "registry")
    yield found
    found.close()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("DOCKYARD_STATE", str(folder))
    monkeypatch.setenv("DOCKYARD_SECRET_API_TOKEN", "test-token")
    return folder


def _project(tmp_path: Path, staging_url: str = "") -> Path:
    root = tmp_path / "linear"
    shutil.copytree(FIXTURE, root)
    name = f"refuse-{uuid.uuid4().hex[:8]}"
    text = (root / "dockyard.toml").read_text().replace('"linear-fixture"', f'"{name}"')
    url = f'url = "{staging_url}"\n' if staging_url else ""
    text += f"\n[environments.staging]\n{url}\n[environments.prod]\nstack = {{ api_port = 8299 }}\n"
    (root / "dockyard.toml").write_text(text)
    return root


def test_sign_verifies_and_deploy_refuses_another_key(
    tmp_path: Path, registry: LocalRegistry, state: Path
) -> None:
    digest = put_image(registry, "ml/linear")
    repository = f"{registry.host}/ml/linear"
    reference = f"{repository}@{digest}"
    store = Registry(repository)
    try:
        bom = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}'
        store.attach(digest, "sbom", Artifact(sbom.MEDIA_TYPE, sbom.MEDIA_TYPE, bom, {}))
    finally:
        store.close()
    assert _cli("keygen", str(tmp_path / "release")) == 0
    assert _cli("keygen", str(tmp_path / "wrong")) == 0
    assert _cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 9  # unsigned
    assert _cli("sign", reference, "--key", str(tmp_path / "release.key")) == 0
    assert _cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 0
    assert _cli("verify", reference, "--key", str(tmp_path / "wrong.pub")) == 9

    project = _project(tmp_path)
    wrong = str(tmp_path / "wrong.pub")
    args = ("deploy", str(project), "--env", "staging", "--image", reference)
    assert _cli(*args, "--verify-key", wrong) == 9
    # Refused before anything ran: no stack rendered, no container, nothing recorded.
    assert not (state / "envs" / "staging").exists()
    assert releases.load(state / "releases.json").environments == {}
    containers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="
         f"{project.name}-staging"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert containers.stdout.strip() == ""


def test_a_failing_staging_gate_blocks_the_promotion(tmp_path: Path, state: Path) -> None:
    # Staging runs a version that answers wrongly (off by one), healthy all the same.
    served = tmp_path / "served"
    shutil.copytree(FIXTURE, served)
    model = served / "model.py"
    model.write_text(model.read_text().replace("+ self.b]", "+ self.b + 1.0]"))
    spec = (served / "dockyard.toml").read_text()
    (served / "dockyard.toml").write_text(spec.replace('golden = "tests/golden.jsonl"', ""))
    staging = Server(served)
    try:
        staging.wait("/readyz", timeout=60)
        project = _project(tmp_path, staging.url)
        digest = "sha256:" + "c" * 64
        image = Image(repository="reg.example/ml/linear", tag="0.1.0", digest=digest,
                      pushed_at="t", pushed_by="ci")  # fmt: skip
        event = Event(action="deploy", digest=digest, at="t", by="ci")
        record = Record().add_image(image).add_event("staging", event)
        releases.save(state / "releases.json", record)
        before = (state / "releases.json").read_bytes()
        assert _cli("promote", str(project), "staging", "prod") == 6  # GateError
    finally:
        staging.stop()
    assert (state / "releases.json").read_bytes() == before  # nothing recorded
    assert not (state / "envs" / "prod").exists()  # prod never touched
    assert os.environ["DOCKYARD_STATE"] == str(state)
