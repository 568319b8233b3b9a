"""Resolve and download wheels for the target (linux, the image's Python) on the host with pip.

Runs on the host so private index credentials (pip.conf, PIP_INDEX_URL, netrc) never enter the
image; the build stage installs offline from the files this puts in the wheelhouse.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.image.lock import Lock, LockEntry, entry_for

# glibc of the oldest supported base (Ubuntu 22.04: 2.35; Debian bookworm: 2.36).
GLIBC_MINOR = 35
BUILD_BACKENDS = ("setuptools", "wheel")


def target_platforms(arch: str | None = None) -> tuple[str, ...]:
    """manylinux tags a wheel may carry to run on the base image, newest first."""
    arch = arch or platform.machine()
    modern = tuple(f"manylinux_2_{n}_{arch}" for n in range(GLIBC_MINOR, 16, -1))
    return (*modern, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}")


def resolve(
    requirements: list[str],
    constraints: Path,
    python: str,
    platforms: tuple[str, ...],
    dest: Path,
    indexes: tuple[str, ...] = (),
) -> tuple[LockEntry, ...]:
    """Resolve wheels-only for the target; fall back to sdists (built in the build stage)."""
    target = [f"--platform={p}" for p in platforms] + [
        f"--python-version={python}",
        "--implementation=cp",
        "--only-binary=:all:",
        *index_args(indexes),
    ]
    try:
        run_pip(["download", "-d", str(dest), *target, "-c", str(constraints), *requirements])
    except BuildError as wheels_only:
        if python != f"{sys.version_info.major}.{sys.version_info.minor}":
            raise BuildError(
                f"{wheels_only}\nno wheel for the target and the host's Python is not {python}, "
                "so sdists cannot be resolved here"
            ) from wheels_only
        run_pip(
            ["download", "-d", str(dest), "--prefer-binary", "-c", str(constraints), *requirements]
        )
    entries = entries_in(dest)
    if any(e.is_sdist for e in entries):
        run_pip(["download", "-d", str(dest / "build"), *target, *BUILD_BACKENDS])
    return entries


def download_locked(
    lock_file: Path,
    python: str,
    platforms: tuple[str, ...],
    dest: Path,
    indexes: tuple[str, ...] = (),
) -> None:
    """Fetch exactly the locked files (hash-checked), e.g. on a fresh checkout with a lock."""
    target = [f"--platform={p}" for p in platforms] + [
        f"--python-version={python}",
        "--implementation=cp",
        *index_args(indexes),
    ]
    run_pip(
        [
            "download",
            "-d",
            str(dest),
            "--no-deps",
            "--require-hashes",
            *target,
            "-r",
            str(lock_file),
        ]
    )


def index_args(indexes: tuple[str, ...]) -> list[str]:
    """pip arguments searching `indexes` besides the host's configured ones."""
    return [f"--extra-index-url={url}" for url in indexes]


def entries_in(dest: Path) -> tuple[LockEntry, ...]:
    """A lock entry for every wheel or sdist in `dest` (not its build/ folder)."""
    files = sorted(p for p in dest.iterdir() if p.is_file())
    return tuple(entry_for(p.name, sha256_file(p)) for p in files)


def missing(lock: Lock, wheelhouse: Path) -> list[LockEntry]:
    """Locked files absent from the wheelhouse or with another hash."""
    return [
        e
        for e in lock.entries
        if not (wheelhouse / e.filename).is_file()
        or sha256_file(wheelhouse / e.filename) != e.sha256
    ]


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run_pip(args: list[str]) -> None:
    """Run `pip ARGS` with the running interpreter; BuildError with pip's last lines on failure."""
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise BuildError(f"pip {args[0]} failed:\n{tail}")
