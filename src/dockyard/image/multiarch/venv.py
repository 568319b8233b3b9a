"""The dependencies' venv for another platform, installed on the host from that platform's
wheels with `installer` (which only unpacks: nothing of the wheel runs, so no emulator).

The venv is laid out as `python -m venv --without-pip` lays it out on the base (its python
links to the base's interpreter), so the image's ENTRYPOINT finds the same paths on either
platform. Bytecode is not compiled here (which modules start-up imports is learnt by running
the server, which cannot run here): `copy_bytecode` takes the building machine's compiled
start-up modules instead, wherever the source is the same file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tarfile
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile

from dockyard.image.multiarch.base import ForeignBase
from dockyard.image.plan import VENV
from dockyard.image.strip import STRIPPED_RECORD, strip


def stage_venv(wheels: list[Path], base: ForeignBase, staging: Path) -> Path:
    """Install `wheels` into `staging` + /opt/venv; return that folder."""
    venv = staging / VENV.strip("/")
    py = f"python{base.python}"
    site = f"{VENV}/lib/{py}/site-packages"
    for folder in ("bin", f"include/{py}", f"lib/{py}/site-packages"):
        (venv / folder).mkdir(parents=True, exist_ok=True)
    (venv / "lib64").symlink_to("lib")
    (venv / "bin/python3").symlink_to("/usr/bin/python3")  # the base links it to python3.X
    (venv / "bin/python").symlink_to("python3")
    (venv / f"bin/{py}").symlink_to("python3")
    (venv / "pyvenv.cfg").write_text(
        "home = /usr/bin\n"
        "include-system-site-packages = false\n"
        f"version = {base.python_version}\n"
        f"executable = {base.interpreter}\n"
        f"command = /usr/bin/python3 -m venv --without-pip {VENV}\n",
        encoding="utf-8",
    )
    scheme = {"purelib": site, "platlib": site, "scripts": f"{VENV}/bin", "data": VENV}
    scheme["headers"] = f"{VENV}/include/site/{py}"
    destination = SchemeDictionaryDestination(
        scheme, f"{VENV}/bin/python", "posix", destdir=str(staging)
    )
    for wheel in sorted(wheels):
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={"INSTALLER": b"dockyard\n"})
    freed, removed = 0, 0
    with contextlib.redirect_stdout(io.StringIO()):  # strip names what it keeps, line by line
        freed, removed = strip(venv / "lib" / py / "site-packages")
    (venv / STRIPPED_RECORD).write_text(f"dockyard-strip: {freed} bytes in {removed} folders\n")
    return venv


UNCHECKED_HASH = 0b01  # a pyc's flags: hash-based, never checked against its source


def copy_bytecode(host_venv: Path, staging: Path) -> int:
    """Copy the host image's pycs (the venv layer tar `host_venv`) into `staging`, each only
    where the staged source is the one it was compiled from; how many were copied.

    The build stage writes unchecked-hash pycs, whose header holds the source's hash, so that
    check needs only the staged source. Pure Python is the same file on every platform; a module
    whose source differs (or a host on another Python, whose hash key differs) gets no pyc.
    """
    copied = 0
    with tarfile.open(host_venv) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".pyc")):
                continue
            target = staging / member.name.removeprefix("./")
            try:
                source = Path(importlib.util.source_from_cache(str(target)))
            except ValueError:  # not a __pycache__ file of this interpreter's tag
                continue
            handle = tar.extractfile(member)
            if handle is None or not source.is_file():
                continue
            data = handle.read()
            header_ok = data[:4] == importlib.util.MAGIC_NUMBER and len(data) > 16
            if not header_ok or int.from_bytes(data[4:8], "little") != UNCHECKED_HASH:
                continue
            if data[8:16] != importlib.util.source_hash(source.read_bytes()):
                continue
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(data)
            copied += 1
    return copied


__all__ = ["copy_bytecode", "stage_venv"]
