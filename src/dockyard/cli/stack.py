"""`dockyard compose|up|down|ps|logs`: render the stack's Compose files and drive them.

The I/O edge of `dockyard.deploy.compose` and `dockyard.deploy.stack`: writes compose.yaml and
compose.dev.yaml next to dockyard.toml, stages secret files, builds the image when needed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dockyard.cli.monitor import with_monitoring
from dockyard.deploy import stack
from dockyard.deploy.compose import (
    DEV_HEADER,
    image_of,
    render_compose,
    render_dev_overlay,
    to_yaml,
)
from dockyard.deploy.compose import logs as stack_logs
from dockyard.deploy.compose.services import SECRETS_SOURCE
from dockyard.deploy.stack_secrets import stage_generated
from dockyard.errors import EngineError
from dockyard.image.engine import Engine
from dockyard.image.secrets import (
    find_secrets,
    remove_secrets,
    require_all,
    secret_env,
    write_secrets,
)
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
ProjectOpt = Annotated[
    str | None,
    typer.Option("--project-name", "-p", envvar="COMPOSE_PROJECT_NAME",
                 help="Compose project name (default: the spec's project name)"),
]  # fmt: skip
DevOpt = Annotated[bool, typer.Option("--dev", help="Add compose.dev.yaml (source mounts, debug)")]
SPEC_LABEL = "dev.dockyard.spec-sha256"


def register(app: typer.Typer) -> None:
    """Add compose, up, down, ps and logs."""
    app.command("compose")(compose)
    app.command()(up)
    app.command()(down)
    app.command()(ps)
    app.command()(logs)


def compose(
    root: Dir = Path("."),
    print_only: Annotated[bool, typer.Option("--print", help="Print compose.yaml only")] = False,
) -> None:
    """Render compose.yaml and compose.dev.yaml from the spec (deterministic)."""
    root = root.resolve()
    spec = load_spec(root)
    if print_only:
        typer.echo(to_yaml(render_compose(spec, root)), nl=False)
        return
    for path in write_files(spec, root):
        typer.echo(f"wrote {path}")


def write_files(spec: Spec, root: Path) -> list[Path]:
    """Write both Compose files next to the spec; return their paths."""
    files = {
        stack.COMPOSE_FILE: to_yaml(render_compose(spec, root)),
        stack.DEV_FILE: to_yaml(render_dev_overlay(spec, root), DEV_HEADER),
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return [root / name for name in files]


def up(
    root: Dir = Path("."),
    dev: DevOpt = False,
    scale: Annotated[
        list[str] | None, typer.Option(help="SERVICE=N, e.g. worker=3 (repeatable)")
    ] = None,
    build: Annotated[bool, typer.Option("--build", help="Rebuild the image first")] = False,
    base_image: Annotated[
        str | None,
        typer.Option(
            "--base-image",
            envvar="DOCKYARD_BASE_IMAGE",
            help="Base image when the image must be built",
        ),
    ] = None,
    secret: Annotated[list[str] | None, typer.Option(help="NAME=FILE for a spec secret")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every service")] = 300.0,
    project_name: ProjectOpt = None,
    monitoring: Annotated[
        bool,
        typer.Option(
            "--monitoring",
            help="Add Prometheus with the alert rules loaded (Grafana too: monitoring.grafana)",
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(help="Host port of the API (default: stack.api_port, serving.port)"),
    ] = None,
) -> None:
    """Build the image if needed, start the stack, and wait until every service is healthy.

    A new stack that fails to start is taken down again with the volumes it created.
    """
    console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    root = root.resolve()
    spec = load_spec(root)
    ensure_image(spec, root, build, base_image, console)
    spec = with_port(spec, port)
    write_files(spec, root)
    stage(spec, root, secret or [])
    for note in stage_generated(spec, root, image_of(spec), os.environ):
        console.print(note)
    project = _project(spec, root, project_name, dev)
    if monitoring:
        project = with_monitoring(spec, root, project, base_image)
    started = time.monotonic()
    before = stack.snapshot(project)
    try:
        stack.run(project, stack.up_args(timeout, stack.parse_scale(scale or [])))
    except EngineError as exc:
        logs = _failing_logs(project)
        raise EngineError(f"{exc}\n{logs}\n{_roll_back(project, before, root)}") from None
    console.print(f"stack {project.name} healthy in {time.monotonic() - started:.1f}s")
    typer.echo(_table(stack.ps(project)))
    scheme = "https" if spec.auth.tls else "http"
    typer.echo(f"api: {scheme}://{spec.stack.bind}:{spec.stack.api_port or spec.serving.port}")


def with_port(spec: Spec, port: int | None) -> Spec:
    """The spec with the API published on `port` (`up --port`), so stacks can sit side by side."""
    if port is None:
        return spec
    return spec.model_copy(update={"stack": spec.stack.model_copy(update={"api_port": port})})


def _roll_back(project: stack.Project, before: stack.Snapshot, root: Path) -> str:
    """Undo a failed first start; a stack that was already there is left as it is."""
    if before.containers:
        return f"stack {project.name} existed before this `up`: left as it is (see `dockyard ps`)"
    stack.roll_back(project, before)
    _remove_secrets(project, root)
    return f"rolled back: the containers, networks and new volumes of {project.name} are removed"


def down(
    root: Dir = Path("."),
    volumes: Annotated[
        bool, typer.Option("--volumes", "-v", help="Also delete the named volumes (jobs, results)")
    ] = False,
    project_name: ProjectOpt = None,
) -> None:
    """Stop and remove the stack; its data volumes stay unless --volumes."""
    root = root.resolve()
    project = _project(load_spec(root), root, project_name, dev=False)
    stack.run(project, stack.down_args(volumes))
    _remove_secrets(project, root)
    typer.echo(f"stack {project.name} removed" + (" with its volumes" if volumes else ""))


def ps(root: Dir = Path("."), project_name: ProjectOpt = None) -> None:
    """Every container of the stack with its state and health."""
    root = root.resolve()
    typer.echo(_table(stack.ps(_project(load_spec(root), root, project_name, dev=False))))


def logs(
    root: Dir = Path("."),
    services: Annotated[list[str] | None, typer.Argument(help="Only these services")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing")] = False,
    tail: Annotated[int | None, typer.Option(help="Lines per container to start from")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Compose's lines, unformatted")] = False,
    project_name: ProjectOpt = None,
) -> None:
    """The services' JSON logs merged readably: service, time, level, message, request/job id."""
    root = root.resolve()
    project = _project(load_spec(root), root, project_name, dev=False)
    args = stack.logs_args(follow, tail, tuple(services or ()))
    if follow:
        lines = (stack_logs.parse(line) for line in stack.stream(project, args))
        for line in lines:
            if line is not None:
                typer.echo(line.text if raw else stack_logs.pretty(line))
        return
    for line in stack_logs.merged(stack.run(project, args).splitlines()):
        typer.echo(line.text if raw else stack_logs.pretty(line))


def ensure_image(
    spec: Spec, root: Path, force: bool, base_image: str | None, console: Console
) -> None:
    """Build when asked, when an image is missing, or when it was built from another spec.

    Besides the project's own image, the router's versions and the pipeline's stages each have
    their own project and so their own image.
    """
    from dockyard.cli.build import build_image
    from dockyard.deploy.patterns import projects_to_build

    engine = Engine.connect()
    for project in (root, *projects_to_build(spec, root)):
        own = spec if project == root else load_spec(project)
        image = engine.image(image_of(own))
        labels = ((image or {}).get("Config") or {}).get("Labels") or {}
        if force or image is None or labels.get(SPEC_LABEL) != own.digest():
            build_image(project, base_image, None, console)


def stage(spec: Spec, root: Path, given: list[str]) -> None:
    """Write each secret as a 0600 file the runtime user owns, where compose.yaml points.

    `.dockyard/` is never part of a build context; `down` (or a rollback) deletes the copies.
    """
    found = find_secrets(spec, root, given, secret_env(os.environ))
    require_all(spec, found, "up")
    if found:
        write_secrets(found, root / SECRETS_SOURCE, spec.build.uid)


def _remove_secrets(project: stack.Project, root: Path) -> None:
    """Delete the plaintext copies, unless another stack from this directory still mounts them."""
    if not stack.siblings(project):
        remove_secrets(root / SECRETS_SOURCE)


def _project(spec: Spec, root: Path, name: str | None, dev: bool) -> stack.Project:
    files = (stack.COMPOSE_FILE, stack.DEV_FILE) if dev else (stack.COMPOSE_FILE,)
    if not (root / stack.COMPOSE_FILE).is_file():
        write_files(spec, root)
    return stack.Project(root, name or spec.project.name, files, stack.compose_binary())


def _failing_logs(project: stack.Project) -> str:
    """The last log lines of every container that is not running healthy."""
    try:
        bad = [c for c in stack.ps(project) if not c.ok]
    except EngineError as exc:
        return f"(could not list containers: {exc})"
    parts = [f"--- {c.name}: {c.state} {c.health}".rstrip() for c in bad]
    services = tuple(sorted({c.service for c in bad}))
    if services:
        text = stack.run(project, stack.logs_args(False, 30, services))
        parts += [stack_logs.pretty(x) for x in stack_logs.merged(text.splitlines())]
    return "\n".join(parts) or "(every container looks healthy; see `dockyard logs`)"


def _table(containers: list[stack.Container]) -> str:
    rows = [("CONTAINER", "SERVICE", "STATE", "HEALTH")]
    rows += [(c.name, c.service, c.state, c.health or "-") for c in containers]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)  # fmt: skip


__all__ = ["compose", "down", "ensure_image", "logs", "ps", "register", "up"]
