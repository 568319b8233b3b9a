"""A wheel per other platform, at the versions the building machine's lock pins.

Resolved on the host with pip, wheels only: an sdist would have to be compiled for the other
platform, which needs a machine (or an emulator) of that platform, so it is refused with the
package's name and what to do instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.image.lock import LockEntry, PlatformPins
from dockyard.image.multiarch.platform import Platform
from dockyard.image.wheelhouse import entries_in, index_args, run_pip, sha256_file
from dockyard.image.wheelhouse import target_platforms as wheel_tags

# pip's words for "no file fits": unconstrained, and held to a version by the constraints.
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)|Cannot install (.+?) because")


def resolve_pins(
    platform: Platform,
    requirements: list[str],
    pinned: tuple[LockEntry, ...],
    python: str,
    dest: Path,
    indexes: tuple[str, ...] = (),
) -> PlatformPins:
    """Download into `dest` the `platform` wheels of `requirements`, held to the versions in
    `pinned` (the building machine's lock), and pin them."""
    dest.mkdir(parents=True, exist_ok=True)
    constraints = dest / "constraints.txt"
    constraints.write_text("".join(f"{e.name}=={e.version}\n" for e in pinned), encoding="utf-8")
    try:
        target = _target(platform, python, indexes)
        run_pip(["download", "-d", str(dest), *target, "-c", str(constraints), *requirements])
    except BuildError as exc:
        raise no_wheel(str(exc), platform, python) from exc
    finally:
        constraints.unlink()
    entries = entries_in(dest)
    if sdists := [e for e in entries if e.is_sdist]:  # pip never picks one here; a stray file
        raise no_wheel(f"No matching distribution found for {sdists[0].name}", platform, python)
    return PlatformPins(platform.name, entries)


def download_pins(
    platform: Platform,
    entries: tuple[LockEntry, ...],
    python: str,
    dest: Path,
    indexes: tuple[str, ...] = (),
) -> None:
    """Fetch exactly the locked `platform` files (hash-checked), e.g. on a fresh checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = dest / "pins.txt"
    wanted.write_text(
        "".join(f"{e.name}=={e.version} --hash=sha256:{e.sha256}\n" for e in entries),
        encoding="utf-8",
    )
    try:
        target = _target(platform, python, indexes)
        hashed = ["--no-deps", "--require-hashes", *target, "-r", str(wanted)]
        run_pip(["download", "-d", str(dest), *hashed])
    finally:
        wanted.unlink()


def missing_files(entries: tuple[LockEntry, ...], wheelhouse: Path) -> list[LockEntry]:
    """Locked files absent from `wheelhouse` or with another hash."""
    return [
        e
        for e in entries
        if not (wheelhouse / e.filename).is_file()
        or sha256_file(wheelhouse / e.filename) != e.sha256
    ]


def no_wheel(detail: str, platform: Platform, python: str) -> BuildError:
    """The error for a dependency without a wheel for `platform`: which one, and what to do."""
    found = _NO_MATCH.search(detail)
    if found is None:
        return BuildError(f"resolving the {platform.name} wheels failed: {detail}")
    package = found.group(1) or found.group(2)
    return BuildError(
        f"no wheel for {platform.name} of {package} (CPython {python}, manylinux "
        f"{platform.machine}) at the locked version, only an sdist or nothing: an sdist must be "
        f"compiled on {platform.name}, and Dockyard assembles that image without running "
        f"anything of {platform.name}. Pin a version that publishes a {platform.machine} "
        f"wheel, use another package, or remove {platform.name!r} from build.platforms"
    )


def _target(platform: Platform, python: str, indexes: tuple[str, ...]) -> list[str]:
    return [f"--platform={tag}" for tag in wheel_tags(platform.machine)] + [
        f"--python-version={python}",
        "--implementation=cp",
        "--only-binary=:all:",
        *index_args(indexes),
    ]


__all__ = ["download_pins", "missing_files", "no_wheel", "resolve_pins"]
