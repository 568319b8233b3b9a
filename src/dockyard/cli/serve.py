"""`dockyard serve` and `dockyard predict`: run the model locally, as the container will."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.errors import DockyardError, ModelError, SpecError, SpecProblem
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
SecretOpt = Annotated[
    list[str] | None,
    typer.Option(help="NAME=FILE, read by the model as self.secrets[NAME] (repeatable)"),
]


def register(app: typer.Typer) -> None:
    """Add serve and predict."""
    app.command()(serve)
    app.command()(predict)


def serve(
    root: Dir = Path("."),
    host: Annotated[
        str | None,
        typer.Option(help="Bind address (default 127.0.0.1; beyond loopback needs API keys)"),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: spec serving.port)")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (default: spec)")] = None,
    access_log: Annotated[bool, typer.Option(help="Log one JSON line per request")] = True,
) -> None:
    """Serve the model over HTTP: /predict, V2 protocol, /healthz, /readyz, /metrics, /docs."""
    from dockyard.runtime.server import ServeOptions
    from dockyard.runtime.server import serve as run_server

    root = root.resolve()
    spec = load_spec(root)
    warn_without_golden(spec, root)
    options = ServeOptions(
        # local serving stays on this machine unless asked; serving.host is the container's
        host=host or "127.0.0.1",
        port=port or spec.serving.port,
        workers=workers or spec.serving.workers,
        access_log=access_log and spec.serving.access_log,
    )
    refuse_open_exposure(spec, root, options.host)
    run_server(spec, root, options)


def refuse_open_exposure(spec: Spec, root: Path, host: str) -> None:
    """Beyond loopback, serve only with API keys on, or with auth.allow_public_without_auth."""
    import os

    from dockyard.deploy.auth import is_loopback

    if is_loopback(host) or spec.auth.allow_public_without_auth:
        return
    from dockyard.runtime.auth import AuthConfig

    if AuthConfig.resolve(spec, root, os.environ).keys_file is None:
        raise SpecError([
            SpecProblem("dockyard.toml", "auth.enabled", "false",
                        f"true (with a keys file) to serve on {host}; or keep --host 127.0.0.1, "
                        "or set auth.allow_public_without_auth = true behind an authenticating "
                        "proxy"),
        ])  # fmt: skip


def predict(
    root: Dir = Path("."),
    input: Annotated[
        str, typer.Option("--input", "-i", help="One input as JSON, or @file.json")
    ] = "",
    secret: SecretOpt = None,
) -> None:
    """Run one prediction locally through the model (setup, predict) and print the output."""
    text = Path(input[1:]).read_text() if input.startswith("@") else input
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DockyardError(f"--input is not valid JSON: {exc}") from exc
    from dockyard.image.memory import advise
    from dockyard.image.rss import PeakRss

    root = root.resolve()
    spec = load_spec(root)
    with host_secrets(spec, root, secret or []) as secrets_dir, PeakRss() as rss:
        output = predict_local(root, [item], secrets_dir)[0]
    typer.echo(json.dumps(output))
    typer.echo(f"setup+predict: {advise(rss.delta, spec.resources.memory).message()}", err=True)
    warn_without_golden(spec, root)


def predict_local(root: Path, items: list[Any], secrets_dir: Path | None = None) -> list[Any]:
    """Predict `items` with the project's model in this process, returning JSON-ready outputs.

    The model's secret files are read from `secrets_dir` (default: `.dockyard/secrets`).
    """
    from pydantic import ValidationError

    from dockyard.runtime.contract import signature_of
    from dockyard.runtime.loader import (
        artifact_paths,
        instantiate,
        load_model_class,
        secret_paths,
        verify_artifacts,
    )
    from dockyard.runtime.runner import ModelRunner

    spec = load_spec(root)
    cls = load_model_class(spec, root)
    sig = signature_of(cls)
    try:
        validated = [sig.inputs.validate_python(x) for x in items]
    except ValidationError as exc:
        raise ModelError(f"input does not match {cls.__name__}.predict's type: {exc}") from exc
    paths = artifact_paths(spec, root, in_container=False)
    if problems := verify_artifacts(spec, paths, baked_too=True):
        raise ModelError("; ".join(problems))
    model = instantiate(cls, paths, secret_paths(spec, secrets_dir or root / ".dockyard/secrets"))
    try:
        model.setup()
    except Exception as exc:
        raise ModelError(f"{cls.__name__}.setup() failed: {type(exc).__name__}: {exc}") from exc
    runner = ModelRunner(model, sig)
    try:
        values = runner.predict_values(validated)
    finally:
        runner.close()
    return [sig.outputs.dump_python(v, mode="json") for v in values]


@contextmanager
def host_secrets(spec: Spec, root: Path, given: list[str]) -> Iterator[Path]:
    """A private directory holding the spec's secrets for a model run on this host, from the
    same sources as `run` and `test` (`--secret NAME=FILE`, `DOCKYARD_SECRET_NAME`,
    `.dockyard/secrets/NAME`); removed when the run ends."""
    import os

    from dockyard.image.secrets import (
        find_secrets,
        private_dir,
        remove_secrets,
        secret_env,
        write_secrets,
    )

    found = find_secrets(spec, root, given, secret_env(os.environ))
    directory = private_dir()
    try:
        write_secrets(found, directory, os.getuid())
        yield directory
    finally:
        remove_secrets(directory)


def warn_without_golden(spec: Spec, root: Path) -> None:
    """Running without golden samples is allowed, but readiness then checks no prediction."""
    golden = spec.health.golden
    if not golden or not (root / golden).is_file():
        typer.echo(
            "warning: no golden samples (health.golden), so readiness has no canary; "
            f"write them with `dockyard golden {root} --inputs FILE`",
            err=True,
        )
