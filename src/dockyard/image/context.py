"""The staged build context: exactly the files the Dockerfile copies, under fixed names.

Staging (rather than sending the project directory) keeps artifacts out of the code layer, keeps
everything the .dockerignore names out of the daemon entirely, and makes the tar deterministic
(root-owned, fixed mtime) so unchanged inputs hit the layer cache.
"""

from __future__ import annotations

import fnmatch
import io
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths

from dockyard.errors import BuildError
from dockyard.image.plan import BuildPlan


@dataclass(frozen=True)
class Entry:
    """One file of the context: its archive name and either a host path or literal bytes."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    link: str | None = None


@dataclass(frozen=True)
class AppFiles:
    """The project files that become /app, and the large undeclared ones left out."""

    files: tuple[str, ...]
    skipped: tuple[str, ...]


def app_files(plan: BuildPlan, root: Path) -> AppFiles:
    """Project files surviving the ignore patterns; big undeclared files are data, not code."""
    named = {p.lstrip("!") for p in plan.ignore if p.startswith("!")}
    absent = sorted(n for n in named if not _has_glob(n) and not (root / n).exists())
    if absent:
        raise BuildError(
            f"the spec names {', '.join(absent)}, which do not exist in {root} (golden samples: "
            "write them with `dockyard golden DIR --inputs FILE`)"
        )
    kept, skipped = [], []
    for rel in sorted(exclude_paths(str(root), list(plan.ignore))):
        path = root / rel
        if not path.is_file():
            continue
        if path.stat().st_size > plan.max_file_size and rel not in named:
            skipped.append(rel)
        else:
            kept.append(rel)
    return AppFiles(tuple(kept), tuple(skipped))


def _has_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def stage(
    plan: BuildPlan,
    root: Path,
    app: AppFiles,
    wheels: Iterable[tuple[str, Path]],
    dockyard_wheel: bytes,
    lock_text: str,
    dockerfile: str,
    dependency_files: Iterable[str] = (),
) -> tuple[Entry, ...]:
    """Every entry of the context, in the layout the rendered Dockerfile expects."""
    entries = [
        Entry("Dockerfile", data=dockerfile.encode()),
        Entry("requirements.lock", data=lock_text.encode()),
        Entry(f"dockyard/{plan.dockyard_wheel}", data=dockyard_wheel),
        Entry("wheels/.keep", data=b""),
    ]
    entries += [Entry(f"wheels/{rel}", path=path) for rel, path in wheels]
    entries += [Entry(f"models/{a.name}", path=_existing(root / a.source)) for a in plan.baked]
    entries += [Entry(f"app/{rel}", path=root / rel) for rel in app.files]
    entries += _spec_paths(plan, dependency_files)
    return tuple(entries)


def _spec_paths(plan: BuildPlan, dependency_files: Iterable[str]) -> list[Entry]:
    """Keep every path the spec names resolvable under /app without copying it twice.

    The spec loader checks that artifacts and requirement files exist: baked artifacts become
    links to their layer, requirement files (which may hold index credentials) become stubs.
    """
    stub = b"# installed from dockyard.lock at build time; the original stays on the host\n"
    entries = [Entry(f"app/{a.source.strip('/')}", link=a.dest) for a in plan.baked]
    return entries + [Entry(f"app/{name}", data=stub) for name in dependency_files]


def _existing(path: Path) -> Path:
    if not path.exists():
        raise BuildError(f"baked artifact {path} does not exist")
    return path


def write_tar(entries: Iterable[Entry], out: IO[bytes]) -> None:
    """A deterministic tar of the entries (directories recursed for directory artifacts)."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        for entry in entries:
            if entry.link is not None:
                _add_link(tar, entry.name, entry.link)
            elif entry.data is not None:
                _add_bytes(tar, entry.name, entry.data)
            elif entry.path is not None and entry.path.is_dir():
                for sub in sorted(p for p in entry.path.rglob("*") if p.is_file()):
                    _add_file(tar, f"{entry.name}/{sub.relative_to(entry.path).as_posix()}", sub)
            elif entry.path is not None:
                _add_file(tar, entry.name, entry.path)


def _info(name: str, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = _info(name, 0, 0o777)
    info.type, info.linkname = tarfile.SYMTYPE, target
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data), 0o644), io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    """Keep the executable bit, drop write bits for group/other."""
    mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    with path.open("rb") as handle:
        tar.addfile(_info(name, path.stat().st_size, mode), handle)


Detector = Callable[[str, str], str | None]
"""(file name, text) -> the kind of secret found in it, or None."""


def secret_files(
    root: Path, files: Iterable[str], detect: Detector, allowed: Iterable[str]
) -> list[str]:
    """Files about to enter the image that hold a secret, as 'path (kind)'; binaries are skipped.

    The detector is passed in (the CLI gives the doctor's), so this package needs no doctor.
    """
    allow = tuple(allowed)
    found = []
    for rel in files:
        if any(fnmatch.fnmatch(rel, pattern) for pattern in allow):
            continue
        data = (root / rel).read_bytes()
        if b"\0" in data[:8192]:
            continue
        kind = detect(rel, data.decode("utf-8", errors="replace"))
        if kind:
            found.append(f"{rel} ({kind})")
    return found
