"""`dockyard deploy|undeploy --swarm` and `dockyard scale`: the stack on a Docker swarm.

The I/O edge of `dockyard.deploy.swarm`: stages secret files and the front's files, writes the
stack file, runs `docker stack deploy`, waits until Swarm settled (or rolled back).
State lives in `.dockyard/swarm/STACK/` (or under DOCKYARD_STATE): the rendered stack.yaml and
the front's files; the secrets' plaintext copies are deleted once Swarm holds them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dockyard.deploy import releases
from dockyard.deploy.auth import REDIS_ACL
from dockyard.deploy.compose import image_of, to_yaml
from dockyard.deploy.compose.services import SECRETS_SOURCE
from dockyard.deploy.stack_secrets import CLIENT_KEY, LOCAL, stage_generated
from dockyard.deploy.swarm import (
    FRONT_SERVICE,
    HEADER,
    Staged,
    Target,
    engine,
    front_files,
    keys_on,
    render_swarm,
    stack_name,
)
from dockyard.errors import EngineError, ReleaseError
from dockyard.image.secrets import (
    find_secrets,
    remove_secrets,
    require_all,
    secret_env,
    write_secrets,
)
from dockyard.spec import Spec, load_spec

STACK_FILE = "stack.yaml"
Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]


def register(app: typer.Typer) -> None:
    app.command()(scale)


def deploy(root: Path, env: str | None, image: str | None, record: Path | None) -> None:
    """Render the stack for `env` (or the shared spec), deploy it, wait until it settled."""
    console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    spec = load_spec(root, environment=env)
    engine.require_manager()
    path = releases.record_path(root, record, os.environ)
    reference = image or _released(path) or _local(spec)
    name = stack_name(spec, env)
    folder = releases.state_root(root, os.environ) / "swarm" / name
    front_image = engine.service_image(name, FRONT_SERVICE) or reference
    target = Target(
        name, reference, front_image, _secrets(spec, root, folder), _configs(spec, folder)
    )
    text = to_yaml(render_swarm(spec, root, target), HEADER)
    (folder / STACK_FILE).write_text(text, encoding="utf-8")
    console.print(f"deploying {reference} as stack {name}")
    try:
        engine.docker(*engine.deploy_args(folder / STACK_FILE, name))
    finally:
        remove_secrets(folder / "secrets")  # Swarm holds them now (encrypted in its log)
    engine.wait_settled(name, reference, 600.0, lambda line: console.print(f"  {line}"))
    if env is not None and "@sha256:" in reference:
        _record(path, env, reference)
    port = spec.stack.api_port or spec.serving.port
    typer.echo(f"stack {name} runs {reference}; the front answers on port {port}")
    if keys_on(spec):
        typer.echo(f"API keys are on: an admin key is in {root / LOCAL / CLIENT_KEY}")


def undeploy(root: Path, env: str | None, volumes: bool) -> None:
    """Remove the stack (its secrets and configs with it); its volumes only when asked."""
    spec = load_spec(root, environment=env)
    engine.require_manager()
    name = stack_name(spec, env)
    engine.remove(name, volumes)
    typer.echo(f"stack {name} removed" + (" with its volumes" if volumes else ""))


def scale(
    root: Dir = Path("."),
    replicas: Annotated[list[str] | None, typer.Argument(help="SERVICE=N, e.g. worker=3")] = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment the stack was deployed as")
    ] = None,
) -> None:
    """Set the replicas of services of the swarm stack (`docker service scale`)."""
    from dockyard.deploy.stack import parse_scale

    root = root.resolve()
    spec = load_spec(root, environment=env)
    wanted = parse_scale(replicas or [])
    if not wanted:
        raise EngineError("scale takes SERVICE=N, e.g. `dockyard scale . worker=3`")
    engine.require_manager()
    name = stack_name(spec, env)
    known = {s.name.removeprefix(f"{name}_") for s in engine.services(name)}
    if unknown := sorted(set(wanted) - known):
        raise EngineError(
            f"stack {name} has no service {', '.join(unknown)} (it has: {', '.join(sorted(known))})"
        )
    engine.docker(*engine.scale_args(name, wanted))
    typer.echo(" ".join(f"{s}={n}" for s, n in sorted(wanted.items())))


def _released(path: Path) -> str | None:
    """The latest pushed digest, when this project has a release record."""
    record = releases.load(path)
    return record.latest().reference if record.images else None


def _local(spec: Spec) -> str:
    """The locally built image (one node only: other nodes cannot pull it)."""
    tag = image_of(spec)
    try:
        engine.docker("image", "inspect", tag)
    except EngineError:
        raise ReleaseError(
            f"no release and no local image {tag}: `dockyard build` it (one node), or "
            "`dockyard push` it to a registry every node can pull from"
        ) from None
    return tag


def _secrets(spec: Spec, root: Path, folder: Path) -> dict[str, Staged]:
    """The spec's secrets and the stack's own (API keys, Redis login) as files for Swarm."""
    found = find_secrets(spec, root, [], secret_env(os.environ))
    require_all(spec, found, "deploy --swarm")
    files = write_secrets(found, folder / "secrets", spec.build.uid)
    if keys_on(spec):
        spec = spec.model_copy(update={"auth": spec.auth.model_copy(update={"enabled": True})})
    stage_generated(spec, root, image_of(spec), os.environ)
    generated = root / SECRETS_SOURCE
    if generated.is_dir():
        files.update({p.name: p for p in generated.iterdir() if p.name not in files})
    if REDIS_ACL in files:
        files[REDIS_ACL] = _stable_acl(files[REDIS_ACL], folder / "kept" / REDIS_ACL)
    return {name: Staged(p, _sha256(p)) for name, p in files.items()}


def _stable_acl(new: Path, kept: Path) -> Path:
    """The ACL deployed before when only its random default-user password differs: a new
    secret would restart Redis on every deploy (Swarm secrets are immutable)."""

    def meaning(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("user default ")]

    text = new.read_text(encoding="utf-8")
    if not kept.is_file() or meaning(kept.read_text(encoding="utf-8")) != meaning(text):
        kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        kept.unlink(missing_ok=True)
        fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    return kept


def _configs(spec: Spec, folder: Path) -> dict[str, Staged]:
    out = folder / "front"
    out.mkdir(parents=True, exist_ok=True)
    staged = {}
    for name, text in front_files(spec).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        staged[name] = Staged(path, _sha256(path))
    return staged


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(path: Path, env: str, reference: str) -> None:
    digest = reference.partition("@")[2]
    record = releases.load(path)
    if digest not in record.images:
        return  # deployed by a reference this host never pushed: nothing to attach it to
    event = releases.Event(
        action="deploy", digest=digest, at=releases.now(), by=releases.actor(os.environ),
        note="swarm",
    )  # fmt: skip
    releases.save(path, record.add_event(env, event))
