"""`dockyard init`: scaffold a project that `dockyard serve` runs at once."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from dockyard.errors import DockyardError

TEMPLATE_FILES = ("dockyard.toml", "model.py", "golden.jsonl", "test_model.py", "requirements.txt")


def register(app: typer.Typer) -> None:
    """Add init."""
    app.command()(init)


def init(
    root: Annotated[Path, typer.Argument(help="Directory to create (or fill, if empty)")],
    name: Annotated[
        str | None, typer.Option(help="Project name (default: the directory's name)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing files")] = False,
) -> None:
    """Create a working project: spec, model class, golden samples and a test."""
    project = (name or root.resolve().name).lower().replace(" ", "-")
    root.mkdir(parents=True, exist_ok=True)
    clashes = [f for f in TEMPLATE_FILES if (root / f).exists()]
    if clashes and not force:
        raise DockyardError(f"{root} already has {', '.join(clashes)}; use --force to overwrite")
    template = resources.files("dockyard") / "templates" / "init"
    for filename in TEMPLATE_FILES:
        text = (template / filename).read_text(encoding="utf-8")
        (root / filename).write_text(text.replace("{name}", project), encoding="utf-8")
    typer.echo(f"Created {project} in {root}. Next: dockyard serve {root}")
