"""On a real engine and a real registry: the linear fixture built for linux/amd64 and
linux/arm64 (issue 17, item 4). No arm64 machine or emulator runs here, so the arm64 image is
checked structurally: every ELF file in its layers is aarch64, its config says arm64, its venv
points at its base's interpreter, and the pushed index lists both platforms."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from dockyard.deploy import releases
from dockyard.image import sbom
from dockyard.image.builder import BUILD_DIR, build_image
from dockyard.image.engine import Engine
from dockyard.image.multiarch.base import base_source
from dockyard.image.multiarch.image import INDEX, blob_path, read_variant
from dockyard.image.multiarch.platform import ARM64
from dockyard.image.oci import Artifact, Registry
from dockyard.image.resolve import read_lock
from tests.ship.registry import LocalRegistry
from tests.support.cli import cli

from .conftest import FIXTURES
from .engine_support import BASE, engine_or_skip, remove_images, unique

pytestmark = [pytest.mark.engine, pytest.mark.slow]
EM_X86_64, EM_AARCH64 = 62, 183


@dataclass(frozen=True)
class Built:
    root: Path
    tag: str
    host_id: str
    seconds: float


@pytest.fixture(scope="module")
def engine() -> Engine:
    return engine_or_skip()


@pytest.fixture(scope="module")
def built(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    mirror = base_source(os.environ).mirror
    try:
        httpx.head(f"{mirror}/dists/bookworm/Release", timeout=10, follow_redirects=True)
    except httpx.HTTPError as exc:
        pytest.skip(f"the Debian mirror {mirror} is unreachable ({exc}): no arm64 base")
    root = tmp_path_factory.mktemp("multiarch") / "linear"
    shutil.copytree(FIXTURES / "linear", root)
    name = unique("multiarch-linear")
    toml = root / "dockyard.toml"
    text = toml.read_text().replace('name = "linear-fixture"', f'name = "{name}"')
    platforms = '[build]\nplatforms = ["linux/amd64", "linux/arm64"]\n\n[build.gate]'
    toml.write_text(text.replace("[build.gate]", platforms))
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "fixture"], check=True)
    tag = f"{name}:0.1.0"
    started = time.monotonic()
    report = build_image(root, BASE, tag, Console(quiet=True))
    yield Built(root, tag, report.image_id, time.monotonic() - started)
    remove_images(tag)
    for image in engine.images(f"dev.dockyard.project={name}"):
        engine.remove_image(image["Id"])


def _layers(root: Path) -> tuple[dict[str, object], list[Path]]:
    """The arm64 variant's config and its layer blobs (gzip tars), base first."""
    layout = root / BUILD_DIR / ARM64.slug
    manifest = json.loads(
        blob_path(layout, read_variant(layout, ARM64).manifest.digest).read_bytes()
    )
    config = json.loads(blob_path(layout, manifest["config"]["digest"]).read_bytes())
    return config, [blob_path(layout, layer["digest"]) for layer in manifest["layers"]]


def _files(blob: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    with gzip.open(blob) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        for info in tar:
            yield info, tar


def test_the_lock_pins_aarch64_wheels_at_the_host_versions(built: Built) -> None:
    lock = read_lock(built.root)
    assert lock is not None
    arm = lock.pins_for("linux/arm64")
    assert arm is not None
    assert {e.name: e.version for e in arm} == {e.name: e.version for e in lock.entries}
    numpy = next(e for e in arm if e.name == "numpy")
    assert numpy.filename.endswith("aarch64.whl"), numpy.filename
    host_numpy = next(e for e in lock.entries if e.name == "numpy")
    assert host_numpy.filename.endswith("x86_64.whl") and host_numpy.sha256 != numpy.sha256


def test_every_elf_file_in_the_arm64_layers_is_aarch64(built: Built) -> None:
    _, blobs = _layers(built.root)
    machines: dict[int, list[str]] = {}
    for blob in blobs:
        for info, tar in _files(blob):
            if not info.isfile() or info.size < 20:
                continue
            handle = tar.extractfile(info)
            head = handle.read(20) if handle else b""
            if head[:4] == b"\x7fELF":
                machine = int.from_bytes(head[18:20], "little")
                machines.setdefault(machine, []).append(info.name)
    assert set(machines) == {EM_AARCH64}, {m: names[:3] for m, names in machines.items()}
    elf = machines[EM_AARCH64]
    assert "usr/bin/python3.11" in elf
    assert any(n.startswith("opt/venv/lib/python3.11/site-packages/numpy/") for n in elf)
    assert any("pydantic_core" in n and n.endswith(".so") for n in elf)
    print(f"\n{len(elf)} aarch64 ELF files, none x86-64")


def test_the_arm64_config_says_arm64_and_runs_what_amd64_runs(built: Built, engine: Engine) -> None:
    config, blobs = _layers(built.root)
    host = engine.image(built.host_id) or {}
    assert (config["architecture"], config["os"], config["variant"]) == ("arm64", "linux", "v8")
    assert host["Architecture"] == "amd64"
    settings = config["config"]
    assert isinstance(settings, dict)
    assert settings["Entrypoint"] == host["Config"]["Entrypoint"]
    assert settings["Cmd"] == host["Config"]["Cmd"] and settings["User"] == host["Config"]["User"]
    diff_ids = config["rootfs"]["diff_ids"]  # type: ignore[index]
    assert len(diff_ids) == len(blobs)
    # the app and dockyard layers are the amd64 image's own, byte for byte
    assert diff_ids[-2:] == host["RootFS"]["Layers"][-2:]


def test_the_venv_points_at_the_arm64_base_interpreter(built: Built) -> None:
    _, blobs = _layers(built.root)
    base = {info.name: info for info, _ in _files(blobs[0])}
    venv: dict[str, tarfile.TarInfo] = {}
    cfg = b""
    for info, tar in _files(blobs[2]):
        venv[info.name] = info
        if info.name == "opt/venv/pyvenv.cfg":
            handle = tar.extractfile(info)
            cfg = handle.read() if handle else b""
    assert venv["opt/venv/bin/python"].linkname == "python3"
    assert venv["opt/venv/bin/python3"].linkname == "/usr/bin/python3"
    assert base["usr/bin/python3"].linkname == "python3.11"
    assert base["usr/bin/python3.11"].isfile()
    fields = dict(line.split(" = ", 1) for line in cfg.decode().splitlines())
    assert fields["executable"] == "/usr/bin/python3.11" and fields["home"] == "/usr/bin"
    assert fields["version"].startswith("3.11.")
    assert "opt/venv/lib/python3.11/site-packages/numpy/__init__.py" in venv
    assert base["tmp"].mode & 0o1777 == 0o1777  # the runtime user's home stays writable


def test_the_arm64_base_has_the_dpkg_database_scanners_read(built: Built) -> None:
    _, blobs = _layers(built.root)
    status = b""
    for info, tar in _files(blobs[0]):
        if info.name == "var/lib/dpkg/status":
            handle = tar.extractfile(info)
            status = handle.read() if handle else b""
    packages = {p.name: p.version for p in sbom.parse_dpkg(status.decode())}
    assert {"python3.11-minimal", "ca-certificates", "libc6"} <= set(packages), sorted(packages)
    stanzas = status.decode().strip().split("\n\n")
    assert len(stanzas) == len(packages)
    assert all("\nArchitecture: arm64\n" in s or "\nArchitecture: all\n" in s for s in stanzas)
    print(f"\n{len(packages)} Debian packages recorded installed in the arm64 base")


def test_the_arm64_venv_has_the_hosts_start_up_bytecode(built: Built) -> None:
    _, blobs = _layers(built.root)
    files: dict[str, bytes] = {}
    for info, tar in _files(blobs[2]):
        if info.isfile() and info.name.endswith((".py", ".pyc")):
            handle = tar.extractfile(info)
            files[info.name] = handle.read() if handle else b""
    pycs = [name for name in files if name.endswith(".pyc")]
    assert any("/uvicorn/__pycache__/" in name for name in pycs), "no start-up bytecode"
    for name in pycs:  # each compiled from the arm64 venv's own source file
        source = importlib.util.source_from_cache(name)
        assert files[name][8:16] == importlib.util.source_hash(files[source]), name
    print(f"\n{len(pycs)} start-up modules precompiled in the arm64 venv")


def test_an_unchanged_rebuild_gives_the_same_arm64_manifest(built: Built) -> None:
    layout = built.root / BUILD_DIR / ARM64.slug
    before = read_variant(layout, ARM64).manifest.digest
    started = time.monotonic()
    build_image(built.root, BASE, built.tag, Console(quiet=True))
    reused = time.monotonic() - started  # same host image, same base: the layout is kept
    (layout / "index.json").unlink()  # assembled again from nothing
    started = time.monotonic()
    again = build_image(built.root, BASE, built.tag, Console(quiet=True))
    assert again.image_id == built.host_id
    assert read_variant(layout, ARM64).manifest.digest == before
    assembled = time.monotonic() - started
    print(f"\nunchanged rebuild {reused:.1f}s; arm64 assembled again {assembled:.1f}s")


def test_push_publishes_one_signed_index_of_both_platforms(built: Built, tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    try:
        namespace = f"{registry.host}/t{uuid.uuid4().hex[:6]}"
        assert cli("keygen", str(tmp_path / "release")) == 0
        key = str(tmp_path / "release.key")
        assert cli("push", str(built.root), "--registry", namespace, "--key", key) == 0
        reference = releases.load(built.root / ".dockyard" / "releases.json").latest().reference
        # the index is what is signed and carries the SBOM
        assert cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 0
        repository, digest = reference.split("@")
        store = Registry(repository)
        try:
            described, index = store.manifest(built.tag.split(":")[1])
            assert described.digest == digest and described.media_type == INDEX
            listed = {
                f"{m['platform']['os']}/{m['platform']['architecture']}": m
                for m in index["manifests"]
            }
            assert set(listed) == {"linux/amd64", "linux/arm64"}
            layout = built.root / BUILD_DIR / ARM64.slug
            arm = read_variant(layout, ARM64).manifest.digest
            assert listed["linux/arm64"]["digest"] == arm
            image = releases.load(built.root / ".dockyard" / "releases.json").latest()
            assert image.provenance["linux/arm64-manifest"] == arm
            # arm64's own SBOM: its base's Debian packages, its wheels' hashes; signed
            arm_bom, _ = store.attached(arm, "sbom")
            signed_bom = image.provenance["linux/arm64-sbom-sha256"]
            assert signed_bom == f"sha256:{hashlib.sha256(arm_bom).hexdigest()}"
            parts = {c["name"]: c for c in json.loads(arm_bom)["components"]}
            assert parts["python3.11-minimal"]["purl"].startswith("pkg:deb/debian/")
            lock = read_lock(built.root)
            assert lock is not None
            numpy = next(e for e in lock.pins_for("linux/arm64") or () if e.name == "numpy")
            assert parts["numpy"]["hashes"] == [{"alg": "SHA-256", "content": numpy.sha256}]
            for entry in listed.values():
                found, manifest = store.manifest(entry["digest"])
                assert found.digest == entry["digest"]
                arch = json.loads(store.blob(manifest["config"]["digest"]))["architecture"]
                assert arch == entry["platform"]["architecture"]
                for layer in manifest["layers"]:
                    store.blob(layer["digest"])  # fetched and checked against its digest
            # another SBOM put on the arm64 image: verify no longer passes
            forged = Artifact(sbom.MEDIA_TYPE, sbom.MEDIA_TYPE, b'{"bomFormat": "CycloneDX"}', {})
            store.attach(arm, "sbom", forged)
            assert cli("verify", reference, "--key", str(tmp_path / "release.pub")) == 9
        finally:
            store.close()
        print(f"\nindex {digest}; both built in {built.seconds:.0f}s")
    finally:
        registry.close()
