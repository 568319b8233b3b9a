"""A Debian base for another platform, made without running anything of that platform.

debootstrap's first stage (`--foreign`) resolves, downloads and unpacks Debian's essential
packages for the target architecture; the rest of what its second stage would do by running
the target's maintainer scripts is done here on the host, as far as a Python runtime needs:
the remaining packages (python3, python3-venv, ca-certificates) unpacked with `dpkg-deb -x`,
/etc/passwd and /etc/group from base-passwd's masters, the CA bundle concatenated. The same
recipe as `scripts/provision-engine.sh` builds the local amd64 base with.

The rootfs becomes one layer tar (sorted, one file time, modes and owners kept: /tmp stays
1777), cached in the user's cache folder per suite and architecture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.image.layers import FILE_TIME
from dockyard.image.multiarch.platform import Platform
from dockyard.image.wheelhouse import sha256_file

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
LAYOUT = 2  # the cached base's version: 2 added the dpkg database; older caches are remade
_PYTHON_DEB = re.compile(r"^python(3\.\d+)-minimal_(3\.\d+\.\d+)")


@dataclass(frozen=True)
class ForeignBase:
    """The base rootfs of one platform as a layer tar, and the interpreter it holds."""

    layer: Path
    diff_id: str
    python: str  # "3.11"
    python_version: str  # "3.11.2", as the venv's pyvenv.cfg records it
    description: str

    @property
    def interpreter(self) -> str:
        return f"/usr/bin/python{self.python}"

    def read(self, name: str) -> bytes:
        """A file of the base (`etc/passwd`)."""
        with tarfile.open(self.layer) as tar:
            handle = tar.extractfile(name)
            if handle is None:
                raise BuildError(f"the {self.description} base has no {name}")
            return handle.read()


@dataclass(frozen=True)
class BaseSource:
    """Where bases are cached (between builds and projects) and the Debian mirror they come
    from."""

    cache: Path
    mirror: str


def base_source(environ: Mapping[str, str]) -> BaseSource:
    """The cache under XDG_CACHE_HOME (else ~/.cache); the mirror DOCKYARD_DEBIAN_MIRROR, else
    the first Debian mirror apt is configured with, else deb.debian.org (as
    `scripts/provision-engine.sh` chooses). The entry point passes its environment."""
    home = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return BaseSource(
        home / "dockyard" / "multiarch", environ.get("DOCKYARD_DEBIAN_MIRROR") or _apt_mirror()
    )


def _apt_mirror() -> str:
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if match := re.search(r"^(?:URIs:|deb)\s+(https?://\S*debian\S*)", text, re.M):
            return match.group(1)
    return DEFAULT_MIRROR


def foreign_base(platform: Platform, source: BaseSource) -> ForeignBase:
    """The cached base for `platform`, made first when missing (about half a minute)."""
    folder = source.cache / f"debian-{SUITE}-{platform.debian}-{LAYOUT}"
    record = folder / "base.json"
    if record.is_file():
        found = json.loads(record.read_text(encoding="utf-8"))
        layer = folder / "layer.tar"
        if layer.is_file():
            return ForeignBase(layer, **found)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dockyard-rootfs-", dir=folder) as tmp:
        rootfs = Path(tmp) / "rootfs"
        python, version = _bootstrap(platform, rootfs, source.mirror)
        layer = folder / "layer.tar"
        _write_layer(rootfs, layer)
    made = {
        "diff_id": f"sha256:{sha256_file(layer)}",
        "python": python,
        "python_version": version,
        "description": f"Debian {SUITE} {platform.debian} ({' '.join(PACKAGES)})",
    }
    record.write_text(json.dumps(made, indent=1), encoding="utf-8")
    return ForeignBase(layer, **made)


def _bootstrap(platform: Platform, rootfs: Path, mirror: str) -> tuple[str, str]:
    """Unpack the packages into `rootfs`; return the Python it holds ("3.11", "3.11.2")."""
    if shutil.which("debootstrap") is None or shutil.which("dpkg-deb") is None:
        raise BuildError(
            f"the {platform.name} base is made with debootstrap and dpkg-deb: install them "
            "(apt-get install debootstrap), or remove it from build.platforms"
        )
    if os.geteuid() != 0:
        raise BuildError(
            f"debootstrap makes the {platform.name} base and needs root (device nodes, owners): "
            "run this build as root once; the base is cached afterwards"
        )
    first = ["--foreign", f"--arch={platform.debian}", "--variant=minbase"]
    _run(
        ["debootstrap", *first, f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror],
        f"debootstrap of Debian {SUITE} {platform.debian} from {mirror}",
    )
    archives = rootfs / "var/cache/apt/archives"
    python = version = ""
    stanzas = []
    for deb in sorted(archives.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(rootfs)], f"unpacking {deb.name}")
        stanzas.append(_status_stanza(deb))
        if match := _PYTHON_DEB.match(deb.name):
            python, version = match.groups()
    if not python:
        raise BuildError(f"Debian {SUITE} {platform.debian} brought no python3.X-minimal")
    _finish(rootfs)
    # dpkg never ran, so write the database it would have: image scanners and the SBOM read it
    status = rootfs / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n".join(sorted(stanzas)), encoding="utf-8")
    return python, version


def _status_stanza(deb: Path) -> str:
    """The package's dpkg status entry: its control fields, marked installed."""
    done = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"reading the control fields of {deb.name} failed: {done.stderr.strip()}")
    fields = done.stdout.rstrip("\n").split("\n")
    return "\n".join([fields[0], "Status: install ok installed", *fields[1:]]) + "\n"


def _finish(rootfs: Path) -> None:
    """What the second stage's maintainer scripts would leave that the runtime needs."""
    for name in ("passwd", "group"):
        master = rootfs / f"usr/share/base-passwd/{name}.master"
        shutil.copyfile(master, rootfs / "etc" / name)
    certs = sorted((rootfs / "usr/share/ca-certificates").rglob("*.crt"))
    bundle = rootfs / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_bytes(b"".join(c.read_bytes() for c in certs))
    shutil.rmtree(rootfs / "debootstrap", ignore_errors=True)
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists", "dev"):
        shutil.rmtree(rootfs / folder, ignore_errors=True)
        (rootfs / folder).mkdir(parents=True)


def _write_layer(rootfs: Path, dest: Path) -> None:
    """The rootfs as a layer tar: names sorted, one file time, owners and modes as unpacked."""

    def fixed(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if not (info.isfile() or info.isdir() or info.issym() or info.islnk()):
            return None  # device nodes and fifos: the engine provides /dev
        info.mtime, info.uname, info.gname = FILE_TIME, "", ""
        return info

    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(rootfs)):
            tar.add(rootfs / name, arcname=name, filter=fixed)


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise BuildError(
            f"{what} failed:\n{tail}\n(set DOCKYARD_DEBIAN_MIRROR to a reachable Debian mirror)"
        )


__all__ = ["PACKAGES", "SUITE", "BaseSource", "ForeignBase", "base_source", "foreign_base"]
