"""Build a project's image: lock, stage the context, build on the engine, report, tidy up.

Every image carries the project label; after a build, the project's own images that the new
one superseded (untagged now) are removed, so rebuilding leaves no dangling gigabytes behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

import dockyard
from dockyard.errors import EngineError
from dockyard.image.assemble import iso
from dockyard.image.container import PROJECT_LABEL
from dockyard.image.context import AppFiles, Entry, app_files, stage, write_tar
from dockyard.image.direct import assemble, find_stage, not_reproducible
from dockyard.image.dockerfile import STAGE_LABEL, build_stage, render_dockerfile
from dockyard.image.dockerignore import render_dockerignore
from dockyard.image.engine import Engine, Step
from dockyard.image.lock import LOCK_FILE, Lock, render_lock
from dockyard.image.multiarch.base import BaseSource
from dockyard.image.multiarch.variants import build_variants, check_variants
from dockyard.image.plan import BuildPlan, Overrides, choose_base, plan_for
from dockyard.image.report import BuildReport, parse_du, parse_stripped
from dockyard.image.resolve import WORK, ensure_lock, read_lock
from dockyard.image.selfwheel import SelfWheel, build_self_wheel, runtime_requirements
from dockyard.image.swagger import swagger_files
from dockyard.spec import Spec, load_spec

# Where a build keeps its Dockerfile, .dockerignore, layer cache and sizes, under the project.
BUILD_DIR = Path(WORK) / "build"
Review = Callable[[str], None]
AppCheck = Callable[[Spec, Path, AppFiles], None]
Extras = Callable[[Spec, Path, AppFiles], tuple[Entry, ...]]


@dataclass(frozen=True)
class Prepared:
    """Everything a build sends to the engine, computed before talking to it."""

    spec: Spec
    root: Path
    plan: BuildPlan
    dockerfile: str
    app: AppFiles
    entries: tuple[Entry, ...]
    lock: Lock
    stage_key: str = ""
    epoch: int = 0


def build_image(
    root: Path,
    base_image: str | None,
    tag: str | None,
    console: Console,
    wheel: SelfWheel | None = None,
    *,
    created: str | None = None,
    epoch: int | None = None,
    review: Review | None = None,
    app_check: AppCheck | None = None,
    extras: Extras | None = None,
    bases: BaseSource | None = None,
) -> BuildReport:
    """Lock, download, stage, build, report.

    `review` may refuse the rendered Dockerfile, `app_check` the files bound for /app; `extras`
    adds generated files to the context. `epoch` (SOURCE_DATE_EPOCH) is the time every file and
    the image carry; by default the last commit's. `bases`: where the other platforms' bases
    (`build.platforms`) are cached and made from.
    """
    engine = Engine.connect()
    prepared = prepare(
        root,
        base_image,
        tag,
        console,
        wheel,
        created=created,
        epoch=epoch,
        review=review,
        app_check=app_check,
        extras=extras,
    )
    _check_base(engine, prepared.plan.base_image)
    check_variants(prepared.spec, prepared.plan)
    console.print(f"[bold]building[/] {prepared.plan.tag} from {prepared.plan.base_image}")
    started = time.monotonic()
    if reason := not_reproducible(prepared.plan):
        console.print(f"[yellow]not reproducible[/]: {reason}")
        image_id = _engine_build(engine, prepared, console, prepared.plan.tag)
    else:
        image_id = _assembled(engine, prepared, console)
    console.print(f"built in {time.monotonic() - started:.1f}s")
    build_variants(
        engine,
        prepared.spec,
        prepared.plan,
        prepared.lock,
        image_id,
        root,
        root / BUILD_DIR,
        prepared.epoch,
        lambda text: console.print(text),
        bases,
    )
    _record_base(root, prepared, engine)
    project = prepared.spec.project.name
    if removed := remove_superseded(engine, project, image_id, prepared.stage_key):
        console.print(f"removed {removed} superseded image(s) of {prepared.spec.project.name}")
    return _report(engine, prepared, image_id)


def _engine_build(engine: Engine, prepared: Prepared, console: Console, tag: str | None) -> str:
    """The classic builder over the staged context: the whole Dockerfile, or (no tag) only its
    build stage."""
    labels = {PROJECT_LABEL: prepared.spec.project.name}
    target = None if tag else "build"
    with tempfile.TemporaryFile() as context:
        write_tar(prepared.entries, context)
        context.seek(0)
        return engine.build(context, tag, lambda s: _show_step(console, s), labels, target)


def _assembled(engine: Engine, prepared: Prepared, console: Console) -> str:
    """The build stage (reused when its key and base match), then the runtime image written
    by `image.direct`: same inputs, same image id."""
    base = engine.image(prepared.plan.base_image) or {}
    stage = find_stage(engine, prepared.stage_key, base)
    if stage is None:
        stage = _engine_build(engine, prepared, console, None)
    else:
        console.print(f"  [dim]build stage {prepared.stage_key} cached[/]")
    cache = prepared.root / BUILD_DIR
    return assemble(engine, prepared.plan, base, stage, prepared.entries, prepared.epoch, cache)


def prepare(
    root: Path,
    base_image: str | None,
    tag: str | None,
    console: Console,
    wheel: SelfWheel | None = None,
    *,
    created: str | None = None,
    epoch: int | None = None,
    review: Review | None = None,
    app_check: AppCheck | None = None,
    extras: Extras | None = None,
) -> Prepared:
    """Resolve (or reuse) the lock and wheelhouse, render, and stage the context.

    `wheel` defaults to a wheel of the running dockyard; the benchmark pins one so that others
    editing dockyard meanwhile do not count as part of a code-only rebuild.
    """
    spec = load_spec(root)
    lock = ensure_lock(spec, root, lambda text: console.print(text))
    epoch = source_epoch(root) if epoch is None else epoch
    plan = plan_for(spec, root, overrides(spec, root, lock, base_image, tag, created, epoch))
    wheel = wheel or running_dockyard_wheel()
    key = stage_key(plan, root, render_lock(lock), wheel.data)
    dockerfile = render_dockerfile(plan, key)
    if review is not None:
        review(dockerfile)
    work = root / BUILD_DIR
    work.mkdir(parents=True, exist_ok=True)
    (work / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (work / ".dockerignore").write_text(render_dockerignore(spec), encoding="utf-8")
    app = app_files(plan, root)
    if app_check is not None:
        app_check(spec, root, app)
    deps = [p for p in (spec.dependencies.requirements, spec.dependencies.lock) if p]
    entries = stage(
        plan, root, app, _wheels(root, lock), wheel.data, render_lock(lock), dockerfile, deps
    )
    if extras is not None:
        entries += extras(spec, root, app)
    return Prepared(spec, root, plan, dockerfile, app, entries, lock, key, epoch)


def rendered_dockerfile(
    root: Path,
    base_image: str | None,
    tag: str | None,
    created: str | None = None,
    epoch: int | None = None,
) -> str:
    """The Dockerfile a build would use, without resolving or building anything."""
    spec = load_spec(root)
    lock = read_lock(root)
    epoch = source_epoch(root) if epoch is None else epoch
    plan = plan_for(spec, root, overrides(spec, root, lock, base_image, tag, created, epoch))
    return render_dockerfile(plan)


def running_dockyard_wheel() -> SelfWheel:
    """A wheel of the dockyard this process runs, naming only the runtime's dependencies.

    It carries Swagger UI's static files (`image.swagger`), so images serve the real /docs.
    """
    package = Path(dockyard.__file__).parent
    requires = runtime_requirements(package)
    return build_self_wheel(package, dockyard.__version__, requires, swagger_files())


def stage_key(plan: BuildPlan, root: Path, lock_text: str, dockyard_wheel: bytes) -> str:
    """A digest of what the build stage is made of: its instructions, the lock (which pins every
    wheel by hash), the dockyard wheel and the baked artifacts. Same key, same cached stage."""
    digest = hashlib.sha256()
    for part in (build_stage(plan), lock_text, hashlib.sha256(dockyard_wheel).hexdigest()):
        digest.update(part.encode() + b"\0")
    for art in plan.baked:
        stat = (root / art.source).stat()
        digest.update(f"{art.name} {art.sha256 or (stat.st_size, stat.st_mtime_ns)}\0".encode())
    return digest.hexdigest()[:16]


def remove_superseded(engine: Engine, project: str, keep: str, keep_stage: str = "") -> int:
    """Remove the project's untagged images: the ones a rebuild took the tag from, and build
    stages of earlier dependencies (the current stage, labelled with `keep_stage`, is the cache of
    the next build and stays).

    Images a container still uses are refused by the engine and stay.
    """
    removed = 0
    for image in engine.images(f"{PROJECT_LABEL}={project}"):
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        current = keep_stage and (image.get("Labels") or {}).get(STAGE_LABEL) == keep_stage
        if image["Id"] != keep and not tags and not current and engine.remove_image(image["Id"]):
            removed += 1
    return removed


def overrides(
    spec: Spec,
    root: Path,
    lock: Lock | None,
    base: str | None,
    tag: str | None,
    created: str | None = None,
    epoch: int = 0,
) -> Overrides:
    """Per-build values: base and tag choices, git revision, creation time (the source epoch,
    not the clock: a rebuild gives the same labels), pinned versions."""
    return Overrides(
        base_image=base,
        locked_base=lock.base if lock else None,
        tag=tag,
        revision=_git(root, "rev-parse", "HEAD") or "unknown",
        created=created or iso(epoch),
        # no remote: nothing (a local path names the builder's disk, and differs per clone)
        source=_git(root, "config", "--get", "remote.origin.url"),
        dockyard_version=dockyard.__version__,
        dockyard_wheel=f"dockyard-{dockyard.__version__}-py3-none-any.whl",
        pins=lock.pins if lock else (),
        has_sdists=any(e.is_sdist for e in lock.entries) if lock else False,
        lock_sha256=hashlib.sha256(render_lock(lock).encode()).hexdigest() if lock else "",
    )


def source_epoch(root: Path) -> int:
    """The last commit's time (what SOURCE_DATE_EPOCH would say), or 0 outside git."""
    found = _git(root, "log", "-1", "--format=%ct")
    return int(found) if found.isdigit() else 0


def _wheels(root: Path, lock: Lock) -> list[tuple[str, Path]]:
    wheelhouse = root / WORK / "wheelhouse"
    files = [(e.filename, wheelhouse / e.filename) for e in lock.entries]
    if any(e.is_sdist for e in lock.entries) and (wheelhouse / "build").is_dir():
        files += [(f"build/{p.name}", p) for p in sorted((wheelhouse / "build").iterdir())]
    return files


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _check_base(engine: Engine, base: str) -> None:
    if engine.image(base) is None:
        raise EngineError(
            f"base image {base} is not on the engine (pull it, or --base-image / "
            "DOCKYARD_BASE_IMAGE for a local one)"
        )


def _record_base(root: Path, prepared: Prepared, engine: Engine) -> None:
    """First build with the default base: pin it by digest in the lock."""
    spec, lock = prepared.spec, prepared.lock
    default = choose_base(spec, Overrides())
    if lock.base or prepared.plan.base_image != default:
        return
    digests = (engine.image(default) or {}).get("RepoDigests") or []
    if digests:
        pinned = lock.with_base(f"{default}@{digests[0].split('@', 1)[1]}")
        (root / LOCK_FILE).write_text(render_lock(pinned), encoding="utf-8")


def _show_step(console: Console, step: Step) -> None:
    if step.cached:
        console.print(f"  [dim]step {step.number}/{step.total} cached[/]")
    else:
        console.print(f"[cyan]step {step.number}/{step.total}[/] ", end="")
        console.print(step.instruction[:110], markup=False)


def _sizes(engine: Engine, prepared: Prepared, image_id: str) -> str:
    """`du` of the venv's packages, /app and /models in a throwaway container; kept per image id
    (which names the content), so a rebuild that changed nothing starts no container."""
    kept = prepared.root / BUILD_DIR / "sizes.json"
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(kept.read_text(encoding="utf-8"))
        if record.get("image") == image_id:
            return str(record["du"])
    du = engine.run_once(
        image_id,
        [
            "sh",
            "-c",
            "du -sk /opt/venv/lib/python3*/site-packages/* /app /models 2>/dev/null;"
            " cat /opt/venv/.dockyard-stripped 2>/dev/null",
        ],
        entrypoint=[],
        labels={PROJECT_LABEL: prepared.spec.project.name},
    )
    kept.write_text(json.dumps({"image": image_id, "du": du}), encoding="utf-8")
    return du


def _report(engine: Engine, prepared: Prepared, image_id: str) -> BuildReport:
    image = engine.image(image_id) or {}
    base = engine.image(prepared.plan.base_image) or {}
    du = _sizes(engine, prepared, image_id)
    return BuildReport(
        image_id=image_id,
        tag=prepared.plan.tag,
        size=int(image.get("Size", 0)),
        base_size=int(base.get("Size", 0)),
        layers=tuple(engine.history(image_id)),
        base_layers=len(engine.history(prepared.plan.base_image)) if base else 0,
        packages=parse_du(du),
        stripped=parse_stripped(du),
        skipped=prepared.app.skipped,
    )


__all__ = [
    "Prepared",
    "build_image",
    "overrides",
    "prepare",
    "remove_superseded",
    "rendered_dockerfile",
    "running_dockyard_wheel",
    "source_epoch",
]
