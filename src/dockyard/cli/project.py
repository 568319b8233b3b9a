"""`dockyard init`: scaffold a project that `dockyard serve` runs at once."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from dockyard.errors import DockyardError

TEMPLATE_FILES = ("dockyard.toml", "model.py", "golden.jsonl", "test_model.py", "requirements.txt")


def register(app: typer.Typer) -> None:
    """Add init and golden."""
    app.command()(init)
    app.command()(golden)


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


def golden(
    root: Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")],
    inputs: Annotated[
        Path, typer.Option("--inputs", help="A JSON array of inputs, or JSON Lines of one each")
    ],
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write (default: the spec's health.golden, else golden.jsonl)"),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing golden file")] = False,
    secret: Annotated[
        list[str] | None,
        typer.Option(help="NAME=FILE, read by the model as self.secrets[NAME] (repeatable)"),
    ] = None,
) -> None:
    """Run the local model on INPUTS and write golden samples (the readiness canary)."""
    from dockyard.cli.serve import host_secrets, predict_local
    from dockyard.runtime.golden import read_inputs, render_golden
    from dockyard.spec import load_spec

    root = root.resolve()
    spec = load_spec(root)
    target = output or root / (spec.health.golden or "golden.jsonl")
    if target.exists() and not force:
        raise DockyardError(f"{target} exists; use --force to overwrite it")
    items = read_inputs(inputs)
    with host_secrets(spec, root, secret or []) as secrets_dir:
        outputs = predict_local(root, items, secrets_dir)
    target.write_text(render_golden(items, outputs), encoding="utf-8")
    typer.echo(f"wrote {len(items)} golden samples to {target}")
    if spec.health.golden is None or (root / spec.health.golden).resolve() != target.resolve():
        relative = target.relative_to(root) if target.is_relative_to(root) else target
        typer.echo(f'to use them, set in dockyard.toml:\n[health]\ngolden = "{relative}"')
