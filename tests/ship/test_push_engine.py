"""On a real engine and a real registry: push by digest, SBOM, signatures, save and load."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from rich.console import Console

from dockyard.cli.build import build_image
from dockyard.deploy import releases
from dockyard.errors import EngineError
from dockyard.image.engine import Engine
from dockyard.image.lock import parse_lock
from dockyard.image.oci import Registry
from tests.support.cli import cli as _cli

from .registry import LocalRegistry

FIXTURE = Path(__file__).parents[1] / "image" / "fixtures" / "linear"
BASE = os.environ.get("DOCKYARD_TEST_BASE_IMAGE", "dockyard-local/python:3.11-bookworm")
pytestmark = [pytest.mark.engine, pytest.mark.slow]


@pytest.fixture(scope="module")
def engine() -> Engine:
    try:
        engine = Engine.connect(timeout=60)
    except EngineError:
        pytest.fail("no container engine answers: run scripts/provision-engine.sh")
    assert engine.image(BASE) is not None, f"base image {BASE} missing"
    return engine


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ship") / "linear"
    shutil.copytree(FIXTURE, root)
    # A commit, so the image's provenance names a real source revision.
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    return root


@pytest.fixture(scope="module")
def image(engine: Engine, project: Path) -> Iterator[str]:
    """The fixture built under the project's own NAME:VERSION tag (what `push` ships)."""
    tag = "linear-fixture:0.1.0"
    build_image(project, BASE, tag, Console(quiet=True))
    yield tag


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    found = LocalRegistry(tmp_path)
    yield found
    found.close()


def _push(project: Path, registry: LocalRegistry, *extra: str) -> str:
    namespace = f"{registry.host}/t{uuid.uuid4().hex[:6]}"
    assert _cli("push", str(project), "--registry", namespace, *extra) == 0
    record = releases.load(project / ".dockyard" / "releases.json")
    return record.latest().reference


def test_push_prints_and_records_the_registry_digest(
    engine: Engine,
    project: Path,
    image: str,
    registry: LocalRegistry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reference = _push(project, registry)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed == reference
    repository, digest = reference.split("@")
    name = repository.split("/", 1)[1]
    answered = httpx.head(
        f"{registry.base}/v2/{name}/manifests/0.1.0",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    assert answered.headers["docker-content-digest"] == digest
    entry = releases.load(project / ".dockyard" / "releases.json").image(digest)
    provenance = entry.provenance
    assert provenance["spec-sha256"] and provenance["lock-sha256"]
    assert provenance["image-id"].startswith("sha256:")
    head = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert provenance["revision"] == head
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*Z", provenance["created"])
    # This machine's base is tagged locally (never pulled), so no registry digest exists for it:
    # the tag is recorded with the local image's id beside it (docs/ship.md says so).
    base = engine.image(BASE)
    assert base is not None
    assert provenance["base"] == (base["RepoDigests"][0] if base.get("RepoDigests") else BASE), (
        provenance
    )
    assert provenance["base-id"] == base["Id"]
    # The signed SBOM digest is the one of the SBOM stored beside the release.
    stored = project / ".dockyard" / str(entry.sbom)
    assert provenance["sbom-sha256"] == "sha256:" + hashlib.sha256(stored.read_bytes()).hexdigest()
    # The engine can pull it back by digest alone.
    engine.api.remove_image(f"{repository}:0.1.0")
    engine.api.pull(repository, tag=digest)
    assert engine.image(reference) is not None


def test_the_sbom_command_writes_the_images_sbom(project: Path, image: str, tmp_path: Path) -> None:
    out = tmp_path / "sbom.cdx.json"
    assert _cli("sbom", str(project), "-o", str(out)) == 0
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert "numpy" in {c["name"] for c in json.loads(text)["components"]}
    assert _cli("sbom", str(project), "--image", "no-such-image:0") == 5


def test_the_sbom_is_attached_valid_and_carries_the_lock_hashes(
    project: Path, image: str, registry: LocalRegistry
) -> None:
    reference = _push(project, registry)
    repository, digest = reference.split("@")
    store = Registry(repository)
    try:
        body, _ = store.attached(digest, "sbom")
    finally:
        store.close()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(body.decode()) is None
    components = {c["name"]: c for c in json.loads(body)["components"]}
    lock = parse_lock((project / "dockyard.lock").read_text())
    numpy = next(e for e in lock.entries if e.name == "numpy")
    assert components["numpy"]["version"] == numpy.version
    assert components["numpy"]["hashes"][0]["content"] == numpy.sha256
    assert "dockyard" in components  # the runtime itself
    assert any(c["purl"].startswith("pkg:deb/debian/python3") for c in components.values())


def test_a_signed_push_verifies_and_a_wrong_key_is_refused(
    project: Path, image: str, registry: LocalRegistry, tmp_path: Path
) -> None:
    assert _cli("keygen", str(tmp_path / "release")) == 0
    assert (tmp_path / "release.key").stat().st_mode & 0o777 == 0o600
    reference = _push(project, registry, "--key", str(tmp_path / "release.key"))
    assert _cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 0
    assert _cli("keygen", str(tmp_path / "other")) == 0
    assert _cli("verify", reference, "--key", str(tmp_path / "other.pub")) == 9


def test_an_unsigned_image_does_not_verify(
    project: Path, image: str, registry: LocalRegistry, tmp_path: Path
) -> None:
    reference = _push(project, registry)
    assert _cli("keygen", str(tmp_path / "k")) == 0
    assert _cli("verify", reference, "--key", str(tmp_path / "k.pub")) == 9


def test_save_and_load_verify_digests(
    engine: Engine, project: Path, image: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "linear.tar"
    assert _cli("save", str(project), "-o", str(bundle)) == 0
    image_id = engine.image(image)["Id"]  # type: ignore[index]
    engine.api.remove_image(image, force=True)
    assert _cli("load", str(bundle)) == 0
    assert engine.image(image)["Id"] == image_id  # type: ignore[index]
    # One flipped byte inside the image tarball: refused before anything is loaded.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(bundle) as archive:
        member = archive.getmember("image.tar")
    data = bytearray(bundle.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    assert _cli("load", str(tampered)) == 9


def test_tls_registry_with_basic_auth(project: Path, image: str, tmp_path: Path) -> None:
    found = LocalRegistry(tmp_path, tls=True, user="ci", password="s3cret-pass")
    try:
        os.environ["DOCKER_CONFIG"] = str(found.docker_config("ci", "s3cret-pass"))
        assert _cli("keygen", str(tmp_path / "release")) == 0
        reference = _push(project, found, "--key", str(tmp_path / "release.key"))
        assert reference.startswith(f"{found.host}/")
        # the signature and the SBOM are OCI artifacts read back over TLS with the same login
        assert _cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 0
        os.environ["DOCKER_CONFIG"] = str(tmp_path / "nobody")
        assert _cli("push", str(project), "--registry", f"{found.host}/anon") == 5
    finally:
        os.environ.pop("DOCKER_CONFIG", None)
        found.close()
