"""A wheel per platform in the lock (issue 17, item 4): real wheel names round-trip, pip picks
each platform's file from the same versions, and a dependency with only an sdist for arm64 is
refused with its name and what to do. pip runs offline over a folder of wheels."""

from __future__ import annotations

import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.image.lock import (
    Lock,
    LockInputs,
    PlatformPins,
    entry_for,
    is_current,
    parse_lock,
    render_lock,
)
from dockyard.image.multiarch.pins import download_pins, missing_files, resolve_pins
from dockyard.image.multiarch.platform import AMD64, ARM64, others
from dockyard.image.wheelhouse import entries_in

NUMPY = "numpy-2.1.3-cp311-cp311-manylinux_2_17_{m}.manylinux2014_{m}.whl"
PYDANTIC_CORE = "pydantic_core-2.27.1-cp311-cp311-manylinux_2_17_{m}.manylinux2014_{m}.whl"
CLICK = "click-8.1.7-py3-none-any.whl"


def _lock() -> Lock:
    amd = tuple(
        entry_for(name.format(m="x86_64"), digest)
        for name, digest in ((NUMPY, "1" * 64), (PYDANTIC_CORE, "2" * 64), (CLICK, "3" * 64))
    )
    arm = tuple(
        entry_for(name.format(m="aarch64"), digest)
        for name, digest in ((NUMPY, "4" * 64), (PYDANTIC_CORE, "5" * 64), (CLICK, "3" * 64))
    )
    return Lock("f" * 64, "3.11", amd, others=(PlatformPins("linux/arm64", arm),))


def test_lock_pins_a_wheel_per_platform() -> None:
    text = render_lock(_lock())
    parsed = parse_lock(text)
    arm = parsed.pins_for("linux/arm64")
    assert arm is not None
    files = {e.name: e.filename for e in arm}
    assert files["numpy"].endswith("manylinux2014_aarch64.whl")
    assert files["pydantic-core"].endswith("manylinux2014_aarch64.whl")
    assert files["click"] == CLICK  # a pure-Python wheel serves both platforms
    assert {e.name: e.version for e in arm} == {e.name: e.version for e in parsed.entries}
    assert all(e.filename.endswith(("x86_64.whl", "none-any.whl")) for e in parsed.entries)
    # pip reads the requirements and skips the other platform's comment lines
    assert "# linux/arm64: numpy-2.1.3-cp311-cp311-manylinux_2_17_aarch64" in text
    assert parsed.pins_for("linux/riscv64") is None


def test_lock_without_other_platforms_keeps_its_digest() -> None:
    """Locks written before `build.platforms` existed stay current."""
    inputs = LockInputs(("numpy",), (), (), "3.11", ("manylinux2014_x86_64",))
    lock = Lock(inputs.digest(), "3.11", ())
    assert is_current(lock, inputs)
    assert not is_current(lock, replace(inputs, others=("linux/arm64",)))


def test_the_building_platform_must_be_listed() -> None:
    assert others((), AMD64) == ()
    assert others(("linux/amd64", "linux/arm64"), AMD64) == (ARM64,)
    with pytest.raises(BuildError, match="list it too"):
        others(("linux/arm64",), AMD64)


def _wheel(folder: Path, filename: str, requires: tuple[str, ...] = ()) -> None:
    """A minimal valid wheel: pip reads its METADATA to resolve."""
    name, version = filename.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    tag = filename.removesuffix(".whl").split("-", 2)[2]
    with zipfile.ZipFile(folder / filename, "w") as whl:
        whl.writestr(f"{name}/__init__.py", "")
        whl.writestr(f"{info}/METADATA", meta)
        whl.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
        whl.writestr(f"{info}/RECORD", "")


def _sdist(folder: Path, name: str, version: str) -> None:
    base = folder / f"{name}-{version}"
    base.mkdir()
    (base / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (base / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    subprocess.run(["tar", "-czf", f"{base.name}.tar.gz", base.name], cwd=folder, check=True)


@pytest.fixture
def links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only this folder: no index, no network."""
    folder = tmp_path / "links"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return folder


def test_pip_picks_the_arm64_wheel_at_the_locked_version(links: Path, tmp_path: Path) -> None:
    native = "nativepkg-{v}-cp311-cp311-manylinux_2_17_{m}.manylinux2014_{m}.whl"
    for version in ("1.0", "2.0"):
        for machine in ("x86_64", "aarch64"):
            _wheel(links, native.format(v=version, m=machine), ("purepkg",))
    _wheel(links, "purepkg-1.0-py3-none-any.whl")
    host = tmp_path / "host"
    host.mkdir()
    (host / native.format(v="1.0", m="x86_64")).write_bytes(b"")
    (host / "purepkg-1.0-py3-none-any.whl").write_bytes(b"")
    pinned = entries_in(host)  # the building machine's lock holds nativepkg 1.0, not 2.0
    pins = resolve_pins(ARM64, ["nativepkg"], pinned, "3.11", tmp_path / "arm")
    assert pins.platform == "linux/arm64"
    assert sorted(e.filename for e in pins.entries) == [
        native.format(v="1.0", m="aarch64"),
        "purepkg-1.0-py3-none-any.whl",
    ]


def test_only_an_sdist_for_arm64_is_refused_clearly(links: Path, tmp_path: Path) -> None:
    _wheel(links, "purepkg-1.0-py3-none-any.whl")
    _wheel(links, "fastthing-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    _sdist(links, "fastthing", "1.0")
    pinned = (
        entry_for("purepkg-1.0-py3-none-any.whl", "0" * 64),
        entry_for("fastthing-1.0-cp311-cp311-manylinux2014_x86_64.whl", "1" * 64),
    )
    with pytest.raises(BuildError) as raised:
        resolve_pins(ARM64, ["purepkg", "fastthing"], pinned, "3.11", tmp_path / "arm")
    message = str(raised.value)
    assert "fastthing" in message and "no wheel for linux/arm64" in message
    assert "aarch64 wheel" in message and "build.platforms" in message


def test_a_fresh_checkout_downloads_exactly_the_locked_arm64_files(
    links: Path, tmp_path: Path
) -> None:
    native = "nativepkg-1.0-cp311-cp311-manylinux_2_17_{m}.manylinux2014_{m}.whl"
    for machine in ("x86_64", "aarch64"):
        _wheel(links, native.format(m=machine))
    host = tmp_path / "host"
    host.mkdir()
    (host / native.format(m="x86_64")).write_bytes(b"")
    pins = resolve_pins(ARM64, ["nativepkg"], entries_in(host), "3.11", tmp_path / "arm")
    fresh = tmp_path / "fresh"
    assert missing_files(pins.entries, fresh) == list(pins.entries)
    download_pins(ARM64, pins.entries, "3.11", fresh)
    assert missing_files(pins.entries, fresh) == []
    tampered = replace(pins.entries[0], sha256="0" * 64)  # a hash the file does not have
    with pytest.raises(BuildError, match="pip download failed"):
        download_pins(ARM64, (tampered,), "3.11", tmp_path / "other")
