"""`dockyard build`, `dockyard run`, `dockyard test`: image, production run, CI gate.

Thin: reads flags and the environment, calls `dockyard.image`, prints.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from secrets import token_urlsafe
from typing import Annotated

import typer
from rich.console import Console

from dockyard.cli.monitor import baseline_entries
from dockyard.cli.secretscan import refuse_secrets
from dockyard.errors import BuildError, EngineError, GateError
from dockyard.image import builder, gate
from dockyard.image.checks import HostSide, run_checks
from dockyard.image.container import RunSettings
from dockyard.image.context import AppFiles, Entry
from dockyard.image.engine import Engine
from dockyard.image.launch import Launched, launch, teardown
from dockyard.image.measured import save_startup, startup_line
from dockyard.image.memory import advise
from dockyard.image.multiarch.base import base_source
from dockyard.image.report import BuildReport, render_report
from dockyard.image.secrets import find_secrets, require_all, secret_env, with_placeholders
from dockyard.image.selfwheel import SelfWheel
from dockyard.image.startup import describe_startup
from dockyard.spec import Spec, load_spec
from dockyard.spec.build import Gate

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
SecretOpt = Annotated[
    list[str] | None, typer.Option(help="NAME=FILE, mounted at /run/secrets/NAME (repeatable)")
]


def register(app: typer.Typer) -> None:
    """Add build, run and test."""
    app.command()(build)
    app.command()(run)
    app.command("test")(test_image)


def _console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def build(
    root: Dir = Path("."),
    base_image: BaseOpt = None,
    tag: TagOpt = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Show the Dockerfile; build nothing")
    ] = False,
) -> None:
    """Build the project's image: hermetic dependencies, multi-stage, non-root, health-checked."""
    root = root.resolve()
    if print_only:
        created = os.environ.get("DOCKYARD_CREATED")
        epoch = _source_date_epoch()
        typer.echo(builder.rendered_dockerfile(root, base_image, tag, created, epoch), nl=False)
        return
    typer.echo(render_report(build_image(root, base_image, tag, _console())))
    typer.echo(startup_line(root))


def _source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org), else None: the last commit's time."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else None


def build_image(
    root: Path,
    base_image: str | None,
    tag: str | None,
    console: Console,
    wheel: SelfWheel | None = None,
) -> BuildReport:
    """`builder.build_image` with the environment read, the doctor reviewing the Dockerfile and
    the secret scan refusing files that hold secrets."""
    created = os.environ.get("DOCKYARD_CREATED")  # reproducible label values in tests and CI
    return builder.build_image(
        root,
        base_image,
        tag,
        console,
        wheel,
        created=created,
        epoch=_source_date_epoch(),
        review=check_dockerfile,
        app_check=refuse_secrets,
        extras=_baseline,
        bases=base_source(os.environ),
    )


def _baseline(spec: Spec, root: Path, app: AppFiles) -> tuple[Entry, ...]:
    """The drift baseline, generated into /app when the project has none of its own."""
    return baseline_entries(spec, root, app.files)


def check_dockerfile(text: str) -> None:
    """The doctor reviews what we generate; a finding here is a Dockyard bug, so refuse to build."""
    from dockyard.doctor.checker import check_text

    findings = check_text("dockerfile", text, ".dockyard/image/Dockerfile")
    if findings:
        lines = "\n".join(f"  {f.rule} line {f.line}: {f.message}" for f in findings)
        raise BuildError(f"the generated Dockerfile has doctor findings:\n{lines}")


def run(
    root: Dir = Path("."),
    image: Annotated[str | None, typer.Option(help="Image to run (default NAME:VERSION)")] = None,
    port: Annotated[int | None, typer.Option(help="Host port (default: the spec's port)")] = None,
    bind: Annotated[str, typer.Option(help="Host address the port binds to")] = "127.0.0.1",
    secret: SecretOpt = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness")] = 120.0,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Refuse instead of building a missing image")
    ] = False,
    base_image: BaseOpt = None,
) -> None:
    """Run the image as production should (building it first if missing), wait until ready."""
    started = time.monotonic()
    root = root.resolve()
    spec = load_spec(root)
    found = find_secrets(spec, root, secret or [], secret_env(os.environ))
    require_all(spec, found, "run")
    engine = Engine.connect()
    tag = image or f"{spec.project.name}:{spec.project.version}"
    if engine.image(tag) is None:
        if no_build or image:
            raise EngineError(
                f"image {tag} is not on the engine: build it with `dockyard build {root}`"
                + ("" if image else ", or run without --no-build to build it")
            )
        build_image(root, base_image, None, _console())
    settings = RunSettings(tag, bind, port or spec.serving.port, auto_remove=True)
    launched = launch(engine, spec, root, settings, found, timeout)
    typer.echo(_ready_line(launched, time.monotonic() - started))


def _ready_line(launched: Launched, elapsed_s: float) -> str:
    ids = " ".join(c[:12] for c in launched.containers)
    extra = f"; worker {launched.worker[:12]}" if launched.worker else ""
    return (
        f"ready in {elapsed_s:.1f}s: {launched.url}  (container {launched.api[:12]}{extra}; "
        f"stop with `docker stop {ids}`)" + _startup_line(launched)
    )


def _startup_line(launched: Launched) -> str:
    """The service's own start-up breakdown, on its own line (empty when it has none)."""
    phases = describe_startup(launched.startup) if launched.startup else ""
    return f"\n  start-up: {phases}" if phases else ""


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
    secret: SecretOpt = None,
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
    """CI gate: parity with local code, quality, latency, jobs, non-root and health check."""
    console = _console()
    root = root.resolve()
    spec = load_spec(root)
    flags = {
        "latency_requests": requests,
        "latency_concurrency": concurrency,
        "latency_p95_ms": p95_ms,
    }
    settings = spec.build.gate.model_copy(update={k: v for k, v in flags.items() if v is not None})
    found = find_secrets(spec, root, secret or [], secret_env(os.environ))
    tag = image or build_image(root, base_image, None, console).tag
    values = with_placeholders(spec, found)
    headers = _gate_key(spec, values, api_key)
    checks, peak = _gate(spec, root, tag, settings, values, console, headers)
    if peak is not None:
        console.print(advise(peak, spec.resources.memory).message())
    typer.echo(gate.render_json(tag, checks) if fmt == "json" else gate.render_text(tag, checks))
    if bad := gate.failed(checks):
        raise GateError("gate failed: " + "; ".join(f"{c.name}: {c.detail}" for c in bad))


def _gate(
    spec: Spec,
    root: Path,
    tag: str,
    settings: Gate,
    secrets: dict[str, bytes],
    console: Console,
    headers: dict[str, str],
) -> tuple[list[gate.Check], int | None]:
    """Launch like production, run every check, read the peak memory, and take it all down."""
    engine = Engine.connect()
    run_settings = RunSettings(image=tag, auto_remove=True)
    # the host-side parity run reads the secret copies too: they stay until teardown
    launched = launch(engine, spec, root, run_settings, secrets, 180, keep_secrets=True)
    console.print(
        f"container ready at {launched.url} in {launched.elapsed_s:.1f}s" + _startup_line(launched),
        markup=False,
    )
    if launched.startup and save_startup(root, tag, launched.startup):
        console.print("start-up recorded for `dockyard k8s` (.dockyard/startup.json)", markup=False)
    try:
        golden, host = _golden(spec, root), _host(root, launched)
        checks = run_checks(engine, spec, root, launched, settings, golden, host, headers)
        return checks, engine.peak_memory(launched.api)
    finally:
        teardown(engine, launched)


def _gate_key(spec: Spec, values: dict[str, bytes], api_key: str | None) -> dict[str, str]:
    """With [auth], the gate's requests carry a key: the given one, or a throwaway one whose
    keys file the container gets (so `dockyard test` needs no keys of yours)."""
    if not spec.auth.enabled:
        return {}
    if api_key is None:
        api_key = "dk_" + token_urlsafe(32)
        values[spec.auth.keys_secret] = f"{api_key} dockyard-test predict,jobs,metrics\n".encode()
    return {"Authorization": f"Bearer {api_key}"}


def _golden(spec: Spec, root: Path) -> list[gate.Sample]:
    from dockyard.runtime.golden import load_golden

    if not spec.health.golden:
        return []
    return [gate.Sample(s.input, s.output) for s in load_golden(root / spec.health.golden)]


def _host(root: Path, launched: Launched) -> HostSide:
    from dockyard.cli.serve import predict_local
    from dockyard.runtime.golden import mismatch

    return HostSide(lambda items: predict_local(root, items, launched.secrets_dir), mismatch)


__all__ = ["build_image", "check_dockerfile", "register"]
