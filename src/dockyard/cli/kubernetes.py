"""`dockyard k8s`: the same spec as Kubernetes manifests, a Kustomize base plus an overlay per
environment, or one environment fully rendered (`--flat`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dockyard.spec import Spec, load_spec

if TYPE_CHECKING:
    from dockyard.deploy.kubernetes.kustomize import Image


def register(app: typer.Typer) -> None:
    """Add k8s."""
    app.command("k8s")(k8s)


def k8s(
    root: Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")] = Path(
        "."
    ),
    env: Annotated[
        str | None, typer.Option(help="Only this [environments.NAME] (with --flat: render it)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the Kustomize layout (with --flat: the YAML file)"),
    ] = None,
    flat: Annotated[
        bool, typer.Option(help="One fully rendered YAML file instead of base + overlays")
    ] = False,
    image: Annotated[
        str | None, typer.Option(help="Image reference in your registry (default NAME:VERSION)")
    ] = None,
    load_s: Annotated[
        float | None,
        typer.Option(
            help="Model load time in seconds, for the startup probes (default: what the last "
            "`dockyard test` measured, in .dockyard/startup.json)"
        ),
    ] = None,
) -> None:
    """Render Kubernetes manifests: workloads, autoscaling, budgets, policies, one overlay per
    environment. Without --out, print one environment's (or the shared spec's) YAML."""
    from dockyard.deploy.stack_secrets import (
        keys_for_cluster,
        metrics_for_cluster,
        redis_for_cluster,
    )

    root = root.resolve()
    spec = load_spec(root)
    load_s = load_s if load_s is not None else _measured(root)
    reference = image or f"{spec.project.name}:{spec.project.version}"
    notes = keys_for_cluster(spec, root, os.environ) + metrics_for_cluster(spec, root)
    for note in notes + redis_for_cluster(spec, root):
        typer.echo(note, err=True)
    if flat or out is None:
        text = _flat(spec, root, reference, env, load_s)
        if out is None:
            typer.echo(text, nl=False)
            return
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
        return
    envs = [env] if env else sorted(spec.environments)
    written = _layout(spec, root, reference, envs, load_s)
    for relative, text in written.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    overlays = ", ".join(f"overlays/{name}" for name in envs) or "no environments declared"
    typer.echo(f"wrote {out}: base ({overlays}); apply with kubectl apply -k {out}/overlays/NAME")


def _measured(root: Path) -> float | None:
    """The start-up the last `dockyard test` measured in a container, said on stderr."""
    from dockyard.image.measured import RECORD, measured_ready_s

    found = measured_ready_s(root)
    if found is not None:
        typer.echo(f"startup probes sized from {RECORD}: ready in {found:.1f}s", err=True)
    return found


def _flat(spec: Spec, root: Path, image: str, env: str | None, load_s: float | None) -> str:
    from dockyard.deploy.kubernetes import kustomize, render_kubernetes, to_yaml

    if env is None:
        return to_yaml(render_kubernetes(spec, image, root, load_s))
    own = render_kubernetes(load_spec(root, environment=env), image, root, load_s)
    return to_yaml(kustomize.build(own, kustomize.Overlay(images=_digest(root, env, image))))


def _layout(
    spec: Spec, root: Path, image: str, envs: list[str], load_s: float | None
) -> dict[str, str]:
    from dockyard.deploy.kubernetes import kustomize, render_kubernetes

    base = render_kubernetes(spec, image, root, load_s)
    overlays = {}
    for name in envs:
        own = render_kubernetes(load_spec(root, environment=name), image, root, load_s)
        overlays[name] = kustomize.overlay(base, own, _digest(root, name, image))
    return kustomize.files(base, overlays)


def _digest(root: Path, env: str, image: str) -> list[Image]:
    """The digest the release record says `env` runs, as an image override (none if unknown)."""
    from dockyard.deploy import releases
    from dockyard.deploy.kubernetes.kustomize import Image, image_name

    current = releases.load(releases.record_path(root, None, os.environ)).current(env)
    if current is None:
        return []
    return [Image(image_name(image), current.repository, current.digest)]
