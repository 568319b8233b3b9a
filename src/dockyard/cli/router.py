"""`dockyard router`: the model-as-service pattern in one command, for local development."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dockyard.spec import load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory whose dockyard.toml has [router]")]


def register(app: typer.Typer) -> None:
    """Add router."""
    app.command()(router)


def router(
    root: Dir = Path("."),
    host: Annotated[str, typer.Option(help="Router bind address")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Router port (default: spec serving.port)")
    ] = None,
    local: Annotated[
        bool,
        typer.Option(help="Start each version with a path here (--no-local: use their URLs)"),
    ] = True,
) -> None:
    """Serve the versions of [router] behind a router: weights, canary, sticky keys, shadow."""
    from dockyard.runtime.router.server import run

    root = root.resolve()
    spec = load_spec(root)
    run(spec, root, host, port or spec.serving.port, os.environ, local=local)
