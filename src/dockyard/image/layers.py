"""Normalized layer tars: the same files give the same bytes, hence the same layer digest.

Entries are sorted, stamped with one fixed time, owned by 0:0, moded 0644/0755, stripped of
extended headers (xattrs, atimes), with hard links written as plain files.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, cast

Rename = Callable[[str], str | None]
"""An archive name -> its path in the image (no leading slash), or None to leave it out."""

# Files carry a constant time, not the source epoch (which the image's config carries): with the
# commit's time in every file, each commit would rewrite every layer, dependencies included. One
# second past 1970, as Jib does: some tools read a zero time as "unset".
FILE_TIME = 1

_KINDS = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)


@dataclass(frozen=True)
class Written:
    """A layer written out: its diff id (digest of the uncompressed tar) and size in bytes."""

    diff_id: str
    size: int


def moved(source: str, dest: str) -> Rename:
    """Map `source` (the archive's top entry, as the engine names it) and what is under it to
    `dest`; the engine's archive of `/opt/venv` is rooted at `venv`."""
    source, dest = source.strip("/"), dest.strip("/")

    def rename(name: str) -> str | None:
        name = name.strip("/")
        if name == source:
            return dest
        if name.startswith(source + "/"):
            return dest + name[len(source) :]
        return None

    return rename


def normalize(src: IO[bytes], out: IO[bytes], rename: Rename, mtime: int = FILE_TIME) -> Written:
    """Copy the tar in `src` (seekable) to `out` as a normalized layer; return its diff id."""
    hashed = Hashing(out)
    with tarfile.open(fileobj=src, mode="r:") as tar:
        members: dict[str, tarfile.TarInfo] = {}
        for info in tar.getmembers():
            name = rename(info.name)
            if name and info.type in _KINDS:
                members[name] = tar.getmember(info.linkname) if info.islnk() else info
        sink = cast(IO[bytes], hashed)
        with tarfile.open(fileobj=sink, mode="w:", format=tarfile.PAX_FORMAT) as layer:
            for name in _with_parents(members):
                found = members.get(name)
                fixed = _header(name, found, mtime)
                data = tar.extractfile(found) if found is not None and fixed.isreg() else None
                layer.addfile(fixed, data)
    return Written(f"sha256:{hashed.digest.hexdigest()}", hashed.size)


def _with_parents(members: Iterable[str]) -> list[str]:
    """Every name and every directory above it, sorted: the layer never relies on the engine
    inventing parents (which it would stamp with the current time)."""
    names = set(members)
    for name in list(names):
        parent = posixpath.dirname(name)
        while parent and parent not in names:
            names.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(names)


def _header(name: str, source: tarfile.TarInfo | None, mtime: int) -> tarfile.TarInfo:
    """A fresh header: only the name, type, size, mode and link survive from the source."""
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
    if source is None or source.isdir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif source.issym():
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, source.linkname
    else:  # regular files (hard links arrive here as their target)
        info.type, info.size = tarfile.REGTYPE, source.size
        info.mode = 0o755 if source.mode & 0o111 else 0o644
    return info


def copy_hashed(source: IO[bytes], out: IO[bytes]) -> str:
    """Copy `source` into `out`; the hex sha256 of what was copied, hashed on the way."""
    hashing = Hashing(out)
    shutil.copyfileobj(source, hashing, 1 << 20)
    return hashing.digest.hexdigest()


class Hashing:
    """A write-only file that digests and counts what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.out.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.out.flush()


__all__ = ["FILE_TIME", "Hashing", "Rename", "Written", "copy_hashed", "moved", "normalize"]
