"""`dockyard k8s`: the same spec as Kubernetes manifests (Deployments, Service, CronJobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dockyard.spec import load_spec


def register(app: typer.Typer) -> None:
    """Add k8s."""
    app.command("k8s")(k8s)


def k8s(
    root: Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")] = Path(
        "."
    ),
    image: Annotated[
        str | None, typer.Option(help="Image reference in your registry (default NAME:VERSION)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")] = None,
) -> None:
    """Render Kubernetes manifests: restricted pods, probes, limits, secrets as files, CronJobs."""
    from dockyard.cli.stack_secrets import keys_for_cluster
    from dockyard.deploy.kubernetes import render_kubernetes, to_yaml

    root = root.resolve()
    spec = load_spec(root)
    text = to_yaml(render_kubernetes(spec, image or f"{spec.project.name}:{spec.project.version}"))
    for note in keys_for_cluster(spec, root):
        typer.echo(note, err=True)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
