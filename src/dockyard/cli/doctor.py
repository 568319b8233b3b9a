"""`dockyard doctor`: find the classic container mistakes in files and built images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dockyard.doctor import Selection, check_paths
from dockyard.doctor.finding import SEVERITIES, severity_rank
from dockyard.doctor.image import Image, load_image_file, read_image
from dockyard.doctor.report import RENDERERS
from dockyard.errors import DoctorFindings


def doctor(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Dockerfiles, Compose files, Kubernetes manifests or directories (default: .).",
        ),
    ] = None,
    image: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            help="A built image (name, or a `docker save` tar) to scan; repeatable.",
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="text, json, sarif or github (Actions workflow commands).",
        ),
    ] = "text",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit non-zero when a finding reaches this severity (or 'never').",
        ),
    ] = "error",
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Only these rule ids, id prefixes (DY3) or categories; comma-separated.",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Skip these rule ids, id prefixes or categories; comma-separated.",
        ),
    ] = None,
) -> None:
    """Find bloat, missing limits, leaked secrets, weak health checks, root users,
    unpinned versions and dev/prod drift."""
    if output_format not in RENDERERS:
        raise typer.BadParameter(f"expected one of {', '.join(RENDERERS)}", param_hint="--format")
    if fail_on not in (*SEVERITIES, "never"):
        raise typer.BadParameter("expected error, warning, info or never", param_hint="--fail-on")
    images = [_image(name) for name in image or []]
    targets = paths if paths is not None else ([] if images else [Path(".")])
    report = check_paths(targets, images, Selection(_ids(select), _ids(ignore)))
    for path, reason in report.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(RENDERERS[output_format](report))
    failing = [
        f
        for f in report.findings
        if fail_on != "never" and severity_rank(f.severity) >= severity_rank(fail_on)
    ]
    if failing:
        raise DoctorFindings(f"{len(failing)} finding(s) at or above {fail_on}")


def _ids(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for value in values or [] for v in value.split(",") if v.strip())


def _image(name: str) -> Image:
    """A `docker save` tar on disk, else an image name the engine knows."""
    path = Path(name)
    return load_image_file(path) if path.is_file() else read_image(name)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("doctor")(doctor)
