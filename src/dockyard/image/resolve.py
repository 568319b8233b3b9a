"""Keep `dockyard.lock` and the wheelhouse current: reuse them, or resolve for the target again.

Requirement lines are parsed with `packaging`, so extras (`name[extra]`), markers and URLs are
read as pip reads them.
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

import dockyard
from dockyard.errors import BuildError
from dockyard.image.lock import (
    LOCK_FILE,
    Lock,
    LockEntry,
    LockInputs,
    PlatformPins,
    check_torch,
    is_current,
    parse_lock,
    render_lock,
    why_stale,
)
from dockyard.image.multiarch.pins import download_pins, missing_files, resolve_pins
from dockyard.image.multiarch.platform import KNOWN, Platform, others
from dockyard.image.selfwheel import runtime_requirements
from dockyard.image.wheelhouse import download_locked, missing, resolve, target_platforms
from dockyard.spec import Spec

WORK = ".dockyard"
REDIS_EXTRA = ("redis>=5",)
Say = Callable[[str], None]


def ensure_lock(spec: Spec, root: Path, say: Say) -> Lock:
    """Reuse dockyard.lock while its inputs are unchanged; else resolve for the target again."""
    inputs, requirements = lock_inputs(spec, root)
    current = read_lock(root)
    wheelhouse = root / WORK / "wheelhouse"
    if current is not None and is_current(current, inputs):
        if missing(current, wheelhouse):
            say("downloading locked wheels")
            download_locked(
                root / LOCK_FILE, inputs.python, inputs.platforms, wheelhouse, inputs.indexes
            )
        for name in inputs.others:
            entries = current.pins_for(name) or ()
            if missing_files(entries, foreign_wheelhouse(root, KNOWN[name])):
                say(f"downloading locked {name} wheels")
                download_pins(
                    KNOWN[name],
                    entries,
                    inputs.python,
                    foreign_wheelhouse(root, KNOWN[name]),
                    inputs.indexes,
                )
        return current
    if current is not None:
        say(f"{LOCK_FILE} is out of date: {why_stale(current, inputs)}")
    say(f"resolving dependencies for linux / Python {inputs.python}")
    fresh = root / WORK / "wheelhouse.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    constraints = fresh.parent / "constraints.txt"
    constraints.write_text("\n".join(inputs.constraints) + "\n", encoding="utf-8")
    entries = resolve(
        requirements, constraints, inputs.python, inputs.platforms, fresh, inputs.indexes
    )
    try:
        check_torch(entries, inputs.torch)
    except ValueError as exc:
        raise BuildError(str(exc)) from exc
    pins = tuple(
        _resolve_other(root, KNOWN[name], requirements, entries, inputs, say)
        for name in inputs.others
    )
    shutil.rmtree(wheelhouse, ignore_errors=True)
    fresh.rename(wheelhouse)
    base = current.base if current else None
    lock = Lock(
        inputs.digest(),
        inputs.python,
        entries,
        base,
        inputs.torch,
        inputs.indexes,
        pins,
        inputs.constraints,
    )
    (root / LOCK_FILE).write_text(render_lock(lock), encoding="utf-8")
    return lock


def foreign_wheelhouse(root: Path, platform: Platform) -> Path:
    """Where the wheels of another platform are kept (`.dockyard/wheelhouse-linux-arm64`)."""
    return root / WORK / f"wheelhouse-{platform.slug}"


def _resolve_other(
    root: Path,
    platform: Platform,
    requirements: list[str],
    pinned: tuple[LockEntry, ...],
    inputs: LockInputs,
    say: Say,
) -> PlatformPins:
    say(f"resolving {platform.name} wheels at the same versions")
    dest = foreign_wheelhouse(root, platform)
    fresh = dest.with_name(dest.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    pins = resolve_pins(platform, requirements, pinned, inputs.python, fresh, inputs.indexes)
    shutil.rmtree(dest, ignore_errors=True)
    fresh.rename(dest)
    return pins


def lock_inputs(spec: Spec, root: Path) -> tuple[LockInputs, list[str]]:
    """The requirement arguments for pip and the digestable inputs they come from."""
    deps = spec.dependencies
    args: list[str] = list(deps.packages)
    text: list[str] = list(deps.packages)
    for name in (deps.requirements, deps.lock):
        if name:
            args += ["-r", str(root / name)]
            text += (root / name).read_text(encoding="utf-8").splitlines()
    if deps.pyproject:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        args += project.get("dependencies", [])
        text += project.get("dependencies", [])
    runtime = runtime_requirements(Path(dockyard.__file__).parent)
    if spec.worker.enabled and spec.worker.backend == "redis":
        runtime += REDIS_EXTRA  # only Redis-backed job stacks carry the client
    inputs = LockInputs(
        tuple(text),
        runtime,
        host_pins(runtime, text),
        spec.project.python,
        target_platforms(),
        deps.indexes(),
        deps.torch,
        tuple(p.name for p in others(spec.build.platforms)),
    )
    return inputs, args + list(runtime)


def requirement_names(lines: Iterable[str]) -> list[str]:
    """The (normalised) names requirement lines name; comments, blanks and options skipped.

    A line that is not a requirement (`-r other.txt`, `--index-url`) names nothing; a malformed
    one is refused rather than dropped, since a silently missing pin is the worse outcome.
    """
    return [canonicalize_name(r.name) for r in _requirements(lines)]


def _requirements(lines: Iterable[str], strict: bool = True) -> list[Requirement]:
    """The requirements `lines` state, as pip reads them: continuation lines joined, options
    (`-r`, `--hash`) and comments skipped. A line that does not parse is refused when `strict`;
    otherwise it is left to pip, which reads those lines too and names the problem."""
    found: list[Requirement] = []
    for raw in "\n".join(lines).replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].split(" --", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement as exc:
            if strict:
                raise BuildError(f"cannot read the requirement {line!r}: {exc}") from exc
    return found


def host_pins(requirements: Iterable[str], project: Iterable[str] = ()) -> tuple[str, ...]:
    """The versions the local `dockyard serve` runs with, so the container serves the same.

    A package the project's own requirement lines keep off the local version (say `httpx==0.28.1`
    where this machine runs 0.29) is not pinned: the project's choice wins, where a pin would only
    make the resolution impossible.
    """
    wanted: dict[str, list[Requirement]] = {}
    for req in _requirements(project, strict=False):  # a hashed `dependencies.lock` too
        wanted.setdefault(canonicalize_name(req.name), []).append(req)
    pins = []
    for name in requirement_names(requirements):
        try:
            local = version(name)
        except PackageNotFoundError:
            continue
        if all(r.specifier.contains(local, prereleases=True) for r in wanted.get(name, [])):
            pins.append(f"{name}=={local}")
    return tuple(pins)


def read_lock(root: Path) -> Lock | None:
    """The project's lock, None when there is none yet."""
    path = root / LOCK_FILE
    try:
        return parse_lock(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError as exc:
        raise BuildError(f"{path}: {exc}; delete it to resolve again") from exc


__all__ = [
    "REDIS_EXTRA",
    "WORK",
    "ensure_lock",
    "foreign_wheelhouse",
    "host_pins",
    "lock_inputs",
    "read_lock",
    "requirement_names",
]
