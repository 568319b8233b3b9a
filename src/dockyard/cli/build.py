"""`dockyard.image`, `dockyard run`, `dockyard test`: image, production run, CI gate.

The I/O edge of `dockyard.image`: reads flags and the environment, writes the lock, wheelhouse
and rendered files under the project, prints, and calls the engine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

import dockyard
from dockyard.cli.monitor import baseline_entries
from dockyard.cli.secretscan import refuse_secrets
from dockyard.errors import BuildError, EngineError, GateError
from dockyard.image import gate
from dockyard.image.context import AppFiles, Entry, app_files, stage, write_tar
from dockyard.image.dockerfile import render_dockerfile
from dockyard.image.dockerignore import render_dockerignore
from dockyard.image.engine import Engine, Step
from dockyard.image.lock import (
    LOCK_FILE,
    Lock,
    LockInputs,
    check_torch,
    is_current,
    parse_lock,
    render_lock,
)
from dockyard.image.plan import BuildPlan, Overrides, choose_base, plan_for
from dockyard.image.report import BuildReport, parse_du, render_report
from dockyard.image.runner import RunSettings, container_config, published_url, wait_ready
from dockyard.image.selfwheel import SelfWheel, build_self_wheel, runtime_requirements
from dockyard.image.wheelhouse import download_locked, missing, resolve, target_platforms
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base-image",
        envvar="DOCKYARD_BASE_IMAGE",
        help="Base image for this build (default: spec, then lock)",
    ),
]
TagOpt = Annotated[str | None, typer.Option("--tag", "-t", help="Image tag (default NAME:VERSION)")]
WORK = ".dockyard"


def register(app: typer.Typer) -> None:
    """Add build, run and test."""
    app.command()(build)
    app.command()(run)
    app.command("test")(test_image)


# ---------------------------------------------------------------------------- build


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


def build(
    root: Dir = Path("."),
    base_image: BaseOpt = None,
    tag: TagOpt = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Show the Dockerfile; build nothing")
    ] = False,
) -> None:
    """Build the project's image: hermetic dependencies, multi-stage, non-root, health-checked."""
    console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    root = root.resolve()
    if print_only:
        spec = load_spec(root)
        lock = _read_lock(root)
        typer.echo(
            render_dockerfile(plan_for(spec, root, _overrides(spec, root, lock, base_image, tag))),
            nl=False,
        )
        return
    report = build_image(root, base_image, tag, console)
    typer.echo(render_report(report))


def build_image(
    root: Path,
    base_image: str | None,
    tag: str | None,
    console: Console,
    wheel: SelfWheel | None = None,
) -> BuildReport:
    """Lock, download, stage, build, report; also used by `dockyard test` and the benchmark."""
    engine = Engine.connect()
    prepared = prepare(root, base_image, tag, console, wheel)
    _check_base(engine, prepared.plan.base_image)
    console.print(f"[bold]building[/] {prepared.plan.tag} from {prepared.plan.base_image}")
    started = time.monotonic()
    with tempfile.TemporaryFile() as context:
        write_tar(prepared.entries, context)
        context.seek(0)
        image_id = engine.build(context, prepared.plan.tag, lambda s: _show_step(console, s))
    console.print(f"built in {time.monotonic() - started:.1f}s")
    _record_base(root, prepared, engine)
    return _report(engine, prepared, image_id)


def prepare(
    root: Path,
    base_image: str | None,
    tag: str | None,
    console: Console,
    wheel: SelfWheel | None = None,
) -> Prepared:
    """Resolve (or reuse) the lock and wheelhouse, render, and stage the context.

    `wheel` defaults to a wheel of the running dockyard; the benchmark pins one so that others
    editing dockyard meanwhile do not count as part of a code-only rebuild.
    """
    spec = load_spec(root)
    lock = ensure_lock(spec, root, console)
    overrides = _overrides(spec, root, lock, base_image, tag)
    plan = plan_for(spec, root, overrides)
    dockerfile = render_dockerfile(plan)
    _check_dockerfile(dockerfile)
    work = root / WORK / "build"
    work.mkdir(parents=True, exist_ok=True)
    (work / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (work / ".dockerignore").write_text(render_dockerignore(spec), encoding="utf-8")
    wheel = wheel or running_dockyard_wheel()
    app = app_files(plan, root)
    refuse_secrets(spec, root, app)
    deps = [p for p in (spec.dependencies.requirements, spec.dependencies.lock) if p]
    entries = stage(
        plan, root, app, _wheels(root, lock), wheel.data, render_lock(lock), dockerfile, deps
    )
    entries += baseline_entries(spec, root, app.files)  # the drift baseline, with the spec hash
    return Prepared(spec, root, plan, dockerfile, app, entries, lock)


def running_dockyard_wheel() -> SelfWheel:
    """A wheel of the dockyard this process runs, naming only the runtime's dependencies."""
    package = Path(dockyard.__file__).parent
    return build_self_wheel(package, dockyard.__version__, runtime_requirements(package))


def ensure_lock(spec: Spec, root: Path, console: Console) -> Lock:
    """Reuse dockyard.lock while its inputs are unchanged; else resolve for the target again."""
    inputs, requirements = _lock_inputs(spec, root)
    current = _read_lock(root)
    wheelhouse = root / WORK / "wheelhouse"
    if current is not None and is_current(current, inputs):
        if missing(current, wheelhouse):
            console.print("downloading locked wheels")
            download_locked(
                root / LOCK_FILE, inputs.python, inputs.platforms, wheelhouse, inputs.indexes
            )
        return current
    console.print(f"resolving dependencies for linux / Python {inputs.python}")
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
    shutil.rmtree(wheelhouse, ignore_errors=True)
    fresh.rename(wheelhouse)
    base = current.base if current else None
    lock = Lock(inputs.digest(), inputs.python, entries, base, inputs.torch, inputs.indexes)
    (root / LOCK_FILE).write_text(render_lock(lock), encoding="utf-8")
    return lock


def _lock_inputs(spec: Spec, root: Path) -> tuple[LockInputs, list[str]]:
    """The requirement arguments for pip and the digestable inputs they come from."""
    deps = spec.dependencies
    args: list[str] = list(deps.packages)
    text: list[str] = list(deps.packages)
    for name in (deps.requirements, deps.lock):
        if name:
            args += ["-r", str(root / name)]
            text += (root / name).read_text(encoding="utf-8").splitlines()
    if deps.pyproject:
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        args += project.get("dependencies", [])
        text += project.get("dependencies", [])
    runtime = runtime_requirements(Path(dockyard.__file__).parent)
    if spec.worker.enabled and spec.worker.backend == "redis":
        runtime += REDIS_EXTRA  # only Redis-backed job stacks carry the client
    inputs = LockInputs(
        tuple(text),
        runtime,
        _host_pins(runtime),
        spec.project.python,
        target_platforms(),
        deps.indexes(),
        deps.torch,
    )
    return inputs, args + list(runtime)


REDIS_EXTRA = ("redis>=5",)


def _host_pins(requirements: tuple[str, ...]) -> tuple[str, ...]:
    """The versions the local `dockyard serve` runs with, so the container serves the same."""
    pins = []
    for req in requirements:
        name = req.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return tuple(pins)


def _read_lock(root: Path) -> Lock | None:
    path = root / LOCK_FILE
    try:
        return parse_lock(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError as exc:
        raise BuildError(f"{path}: {exc}; delete it to resolve again") from exc


def _wheels(root: Path, lock: Lock) -> list[tuple[str, Path]]:
    wheelhouse = root / WORK / "wheelhouse"
    files = [(e.filename, wheelhouse / e.filename) for e in lock.entries]
    if any(e.is_sdist for e in lock.entries) and (wheelhouse / "build").is_dir():
        files += [(f"build/{p.name}", p) for p in sorted((wheelhouse / "build").iterdir())]
    return files


def _overrides(
    spec: Spec, root: Path, lock: Lock | None, base: str | None, tag: str | None
) -> Overrides:
    return Overrides(
        base_image=base,
        locked_base=lock.base if lock else None,
        tag=tag,
        revision=_git(root, "rev-parse", "HEAD") or "unknown",
        created=os.environ.get("DOCKYARD_CREATED")
        or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=_git(root, "config", "--get", "remote.origin.url") or root.as_posix(),
        dockyard_version=dockyard.__version__,
        dockyard_wheel=f"dockyard-{dockyard.__version__}-py3-none-any.whl",
        pins=lock.pins if lock else (),
        has_sdists=any(e.is_sdist for e in lock.entries) if lock else False,
    )


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _check_dockerfile(text: str) -> None:
    """The doctor reviews what we generate; a finding here is a Dockyard bug, so refuse to build."""
    from dockyard.doctor.runner import check_text

    findings = check_text("dockerfile", text, ".dockyard/image/Dockerfile")
    if findings:
        lines = "\n".join(f"  {f.rule} line {f.line}: {f.message}" for f in findings)
        raise BuildError(f"the generated Dockerfile has doctor findings:\n{lines}")


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


def _report(engine: Engine, prepared: Prepared, image_id: str) -> BuildReport:
    image = engine.image(image_id) or {}
    base = engine.image(prepared.plan.base_image) or {}
    du = engine.run_once(
        image_id,
        ["sh", "-c", "du -sk /opt/venv/lib/python3*/site-packages/* /app /models 2>/dev/null"],
        entrypoint=[],
    )
    return BuildReport(
        image_id=image_id,
        tag=prepared.plan.tag,
        size=int(image.get("Size", 0)),
        base_size=int(base.get("Size", 0)),
        layers=tuple(engine.history(image_id)),
        base_layers=len(engine.history(prepared.plan.base_image)) if base else 0,
        packages=parse_du(du),
        skipped=prepared.app.skipped,
    )


# ---------------------------------------------------------------------------- run


def run(
    root: Dir = Path("."),
    image: Annotated[str | None, typer.Option(help="Image to run (default NAME:VERSION)")] = None,
    port: Annotated[int | None, typer.Option(help="Host port (default: the spec's port)")] = None,
    bind: Annotated[str, typer.Option(help="Host address the port binds to")] = "127.0.0.1",
    secret: Annotated[
        list[str] | None, typer.Option(help="NAME=FILE, mounted at /run/secrets/NAME")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness")] = 120.0,
) -> None:
    """Run the image as production should, wait until it is ready, and print its URL."""
    root = root.resolve()
    spec = load_spec(root)
    engine = Engine.connect()
    settings = RunSettings(
        image=image or f"{spec.project.name}:{spec.project.version}",
        bind=bind,
        host_port=port or spec.serving.port,
        secrets=stage_secrets(spec, root, secret or [], strict=True),
    )
    container, url = start(engine, spec, root, settings, timeout)
    typer.echo(
        f"ready: {url}  (container {container[:12]}; stop with `docker stop {container[:12]}`)"
    )


def start(
    engine: Engine, spec: Spec, root: Path, settings: RunSettings, timeout: float
) -> tuple[str, str]:
    """Create and start the container; return (id, url) once ready, else raise with its logs."""
    container = engine.create(**container_config(spec, root, settings))
    engine.start(container)
    url = published_url(engine.inspect(container), spec.serving.port)
    running = lambda: bool(engine.inspect(container)["State"]["Running"])  # noqa: E731
    if not wait_ready(url, running, timeout):
        logs = engine.logs(container)
        engine.remove(container)
        raise EngineError(
            f"container did not become ready within {timeout:g}s; last log lines:\n{logs}"
        )
    return container, url


def stage_secrets(spec: Spec, root: Path, given: list[str], strict: bool) -> dict[str, Path]:
    """Secrets as files only the image's user reads, from --secret NAME=FILE, then
    DOCKYARD_SECRET_NAME, then .dockyard/secrets/NAME."""
    sources = dict(item.split("=", 1) for item in given)
    out = root / WORK / "run-secrets"
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    staged = {}
    for name in spec.secrets:
        data = _secret_value(name, sources, root)
        if data is None:
            if strict:
                continue  # container_config reports every missing secret at once
            data = b"dockyard-test-placeholder"
        staged[name] = _write_secret(out / name, data, spec.build.uid)
    return staged


def _secret_value(name: str, sources: dict[str, str], root: Path) -> bytes | None:
    if name in sources:
        return Path(sources[name]).read_bytes()
    env = os.environ.get(f"DOCKYARD_SECRET_{name.upper().replace('-', '_')}")
    if env is not None:
        return env.encode()
    local = root / WORK / "secrets" / name
    return local.read_bytes() if local.is_file() else None


def _write_secret(path: Path, data: bytes, uid: int) -> Path:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)  # only the container's user may read it
    else:
        path.chmod(0o444)  # the directory above stays 0700 on the host
    return path


# ---------------------------------------------------------------------------- test


def test_image(
    root: Dir = Path("."),
    image: Annotated[str | None, typer.Option(help="Test this image instead of building")] = None,
    base_image: BaseOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    requests: Annotated[int | None, typer.Option(help="Latency gate: number of requests")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Latency gate: concurrent requests")
    ] = None,
    p95_ms: Annotated[float | None, typer.Option(help="Latency gate: p95 bound in ms")] = None,
    secret: Annotated[list[str] | None, typer.Option(help="NAME=FILE")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="DOCKYARD_API_KEY",
            show_default=False,
            help="Key for a spec with [auth] (default: a throwaway key for this run)",
        ),
    ] = None,
) -> None:
    """CI gate: parity with local code, quality, latency, non-root and health check."""
    console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    root = root.resolve()
    spec = load_spec(root)
    g = spec.build.gate
    g = g.model_copy(
        update={
            k: v
            for k, v in {
                "latency_requests": requests,
                "latency_concurrency": concurrency,
                "latency_p95_ms": p95_ms,
            }.items()
            if v is not None
        }
    )
    tag = image or build_image(root, base_image, None, console).tag
    checks = run_gate(spec, root, tag, g, secret or [], console, api_key)
    typer.echo(gate.render_json(tag, checks) if fmt == "json" else gate.render_text(tag, checks))
    if bad := gate.failed(checks):
        raise GateError("gate failed: " + "; ".join(f"{c.name}: {c.detail}" for c in bad))


def run_gate(
    spec: Spec,
    root: Path,
    image: str,
    g: Any,
    secrets: list[str],
    console: Console,
    api_key: str | None = None,
) -> list[gate.Check]:
    """Start the container like production, then run every check against it."""
    engine = Engine.connect()
    staged = stage_secrets(spec, root, secrets, strict=False)
    headers = _gate_key(spec, root, staged, api_key)
    settings = RunSettings(image=image, secrets=staged)
    container, url = start(engine, spec, root, settings, timeout=180)
    console.print(f"container ready at {url}")
    try:
        return _checks(engine, spec, root, container, url, g, headers)
    finally:
        engine.remove(container)


def _gate_key(
    spec: Spec, root: Path, staged: dict[str, Path], api_key: str | None
) -> dict[str, str]:
    """With [auth], the gate's requests carry a key: the given one, or a throwaway one whose
    keys file the container gets (so `dockyard test` needs no keys of yours)."""
    if not spec.auth.enabled:
        return {}
    if api_key is None:
        api_key = "dk_" + secrets.token_urlsafe(32)
        text = f"{api_key} dockyard-test predict,metrics\n".encode()
        name, out = spec.auth.keys_secret, root / WORK / "run-secrets"
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        staged[name] = _write_secret(out / name, text, spec.build.uid)
    return {"Authorization": f"Bearer {api_key}"}


def _checks(
    engine: Engine,
    spec: Spec,
    root: Path,
    container: str,
    url: str,
    g: Any,
    headers: dict[str, str] | None = None,
) -> list[gate.Check]:
    auth = headers or {}
    from dockyard.cli.serve import predict_local
    from dockyard.runtime.golden import load_golden, mismatch

    checks = []
    if spec.health.golden:
        samples = [gate.Sample(s.input, s.output) for s in load_golden(root / spec.health.golden)]
        inputs = [s.input for s in samples]
        tol = spec.health.tolerance
        checks.append(
            gate.parity(
                samples,
                _predict(url, inputs, auth),
                predict_local(root, inputs),
                mismatch,
                tol.atol,
                tol.rtol,
            )
        )
        checks.append(
            _latency(
                url, inputs[0], g.latency_requests, g.latency_concurrency, g.latency_p95_ms, auth
            )
        )
    else:
        checks.append(gate.Check("parity", "fail", "no health.golden samples to compare"))
    checks.append(_quality(root, url, g, auth))
    uid = engine.exec(container, ["python", "-c", "import os; print(os.getuid())"])[1]
    user = str(
        (engine.image(engine.inspect(container)["Image"]) or {}).get("Config", {}).get("User", "")
    )
    checks.append(gate.non_root(uid, user))
    test = (
        (engine.image(engine.inspect(container)["Image"]) or {})
        .get("Config", {})
        .get("Healthcheck")
        or {}
    ).get("Test", [])
    checks.append(
        gate.health(*engine.exec(container, test[1:]))
        if test[:1] == ["CMD"]
        else gate.Check("healthcheck", "fail", "the image declares no exec-form HEALTHCHECK")
    )
    return checks


def _predict(url: str, inputs: list[Any], auth: dict[str, str] | None = None) -> list[Any]:
    body = json.dumps({"inputs": inputs}).encode()
    headers = {"Content-Type": "application/json", **(auth or {})}
    request = urllib.request.Request(f"{url}/predict", body, headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return list(json.loads(response.read())["outputs"])


def _quality(root: Path, url: str, g: Any, auth: dict[str, str] | None = None) -> gate.Check:
    if not g.eval_file:
        return gate.quality([], [], g.metric, None)
    rows = [
        json.loads(line) for line in (root / g.eval_file).read_text().splitlines() if line.strip()
    ]
    outputs: list[Any] = []
    for start in range(0, len(rows), 64):
        outputs += _predict(url, [r["input"] for r in rows[start : start + 64]], auth)
    return gate.quality(outputs, [r["label"] for r in rows], g.metric, g.threshold, g.label_key)


def _latency(
    url: str,
    item: Any,
    n: int,
    concurrency: int,
    bound: float | None,
    auth: dict[str, str] | None = None,
) -> gate.Check:
    def one(_: int) -> float | None:
        started = time.perf_counter()
        try:
            _predict(url, [item], auth)
        except Exception:
            return None
        return time.perf_counter() - started

    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    durations = [r for r in results if r is not None]
    return gate.latency(durations, len(results) - len(durations), bound, concurrency)


__all__ = ["Prepared", "build_image", "prepare", "register", "replace"]
