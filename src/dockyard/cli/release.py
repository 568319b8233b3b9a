"""`dockyard deploy|promote|rollback|undeploy`: digests into staged environments on this host.

Reads flags and the environment, resolves which digest goes where from the release record,
verifies signatures when given a public key, gates promotions on the running source
environment, and appends every change to the record with who and when.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dockyard.cli import swarm as swarm_cli
from dockyard.cli.ship import RecordOpt
from dockyard.deploy import auth, releases, rollout, stack_secrets
from dockyard.errors import GateError, ReleaseError
from dockyard.image import distribution, gate, service_gate, signing
from dockyard.image.oci import Registry
from dockyard.image.secrets import find_secrets, require_all, secret_env, write_secrets
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
EnvOpt = Annotated[str, typer.Option("--env", "-e", help="Environment ([environments.NAME])")]
VerifyOpt = Annotated[
    Path | None,
    typer.Option(
        "--verify-key",
        envvar="DOCKYARD_VERIFY_KEY",
        help="Public key: refuse images whose signature does not verify",
    ),
]
SwarmEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment ([environments.NAME]); default staging, or none on Swarm"
    ),
]
SwarmOpt = Annotated[
    bool, typer.Option("--swarm", help="Deploy to the Docker swarm (docker stack deploy)")
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="DOCKYARD_API_KEY", help="Key for the service's own routes"),
]


def register(app: typer.Typer) -> None:
    for command in (deploy, gate_command, promote, rollback, undeploy):
        app.command(command.__name__.removesuffix("_command"))(command)


def gate_command(root: Dir = Path("."), env: EnvOpt = "staging", api_key: ApiKeyOpt = None) -> None:
    """Run the gate (golden parity, quality, latency) against a running environment."""
    root = root.resolve()
    _passes_gate(root, env, f"{env} at", api_key)


def _passes_gate(root: Path, env: str, what: str, api_key: str | None) -> None:
    """The gate against the running `env`, printed; GateError (exit 6) when a check fails."""
    spec = load_spec(root, environment=env)
    url = _url(spec, env)
    checks = _gate(spec, root, url, api_key)
    typer.echo(gate.render_text(f"{what} {url}", checks))
    if bad := gate.failed(checks):
        said = "; ".join(f"{c.name}: {c.detail}" for c in bad)
        raise GateError(f"the gate failed on {env}: {said}")


def deploy(
    root: Dir = Path("."),
    env: SwarmEnvOpt = None,
    image: Annotated[
        str | None, typer.Option("--image", help="REPOSITORY@sha256:... (default: latest push)")
    ] = None,
    verify_key: VerifyOpt = None,
    api_key: ApiKeyOpt = None,
    record: RecordOpt = None,
    swarm: SwarmOpt = False,
) -> None:
    """Run a digest in an environment; a running one is replaced by canary steps, no downtime.

    With --swarm: the stack on the Docker swarm this engine manages, rolled by Swarm.
    """
    root = root.resolve()
    if swarm:
        if verify_key is not None and image is not None:
            _verify(image, verify_key)
        return swarm_cli.deploy(root, env, image, record)
    env = env or "staging"
    path = releases.record_path(root, record, os.environ)
    found = releases.load(path)
    reference = image or found.latest().reference
    _deploy(root, env, reference, verify_key, api_key)
    _append(path, env, "deploy", reference, verified=verify_key is not None)


def promote(
    root: Dir = Path("."),
    source: Annotated[str, typer.Argument(help="Environment the digest comes from")] = "staging",
    target: Annotated[str, typer.Argument(help="Environment it goes to")] = "prod",
    verify_key: VerifyOpt = None,
    api_key: ApiKeyOpt = None,
    record: RecordOpt = None,
) -> None:
    """Gate the digest running in SOURCE, then deploy that same digest to TARGET."""
    root = root.resolve()
    path = releases.record_path(root, record, os.environ)
    running = releases.load(path).current(source)
    if running is None:
        raise ReleaseError(
            f"{source} runs nothing recorded: `dockyard deploy --env {source}` first"
        )
    _passes_gate(root, source, f"{running.reference} in {source} at", api_key)
    _deploy(root, target, running.reference, verify_key, api_key)
    _append(path, target, "promote", running.reference, verify_key is not None, source=source)


def rollback(
    root: Dir = Path("."),
    env: EnvOpt = "prod",
    verify_key: VerifyOpt = None,
    api_key: ApiKeyOpt = None,
    record: RecordOpt = None,
) -> None:
    """Return an environment to the digest it ran before (the same canary steps)."""
    root = root.resolve()
    path = releases.record_path(root, record, os.environ)
    previous = releases.load(path).previous(env)
    _deploy(root, env, previous.reference, verify_key, api_key)
    _append(path, env, "rollback", previous.reference, verified=verify_key is not None)


def undeploy(
    root: Dir = Path("."),
    env: SwarmEnvOpt = None,
    volumes: Annotated[bool, typer.Option(help="Also delete the named volumes")] = False,
    swarm: SwarmOpt = False,
) -> None:
    """Stop and remove an environment's stack on this host (--swarm: on the swarm)."""
    root = root.resolve()
    if swarm:
        return swarm_cli.undeploy(root, env, volumes)
    env = env or "staging"
    spec = load_spec(root, environment=env)
    rollout.remove(_target(spec, root, env, None, stage=False), volumes)


def _deploy(
    root: Path, env: str, reference: str, verify_key: Path | None, api_key: str | None
) -> None:
    spec = load_spec(root, environment=env)
    if verify_key is not None:
        _verify(reference, verify_key)
    console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
    target = _target(spec, root, env, api_key)
    rollout.deploy(target, reference, console.print)
    for warning in _parity(target.folder.parent):
        console.print(f"[yellow]parity:[/] {warning}")
    typer.echo(f"{env}: {reference}")


def _parity(envs: Path) -> list[str]:
    """The doctor's parity rules across this host's environment stacks: each difference they
    report was not declared in an [environments.NAME] table."""
    from dockyard.doctor.checker import check_compose_files
    from dockyard.doctor.parse.compose import parse_compose

    files = sorted(envs.glob("*/compose.yaml"))
    parsed = [parse_compose(f.read_text(), str(f)) for f in files]
    findings = check_compose_files(parsed) if len(parsed) > 1 else []
    return [f"{f.path}:{f.line} {f.rule} {f.message}" for f in findings if f.rule.startswith("DY7")]


def _verify(reference: str, key: Path) -> None:
    repository, digest = distribution.by_digest(reference)
    store = Registry(repository)
    try:
        body, annotations = store.attached(digest, "sig")
    except Exception as exc:
        raise ReleaseError(f"{reference} carries no signature: {exc}") from exc
    finally:
        store.close()
    signing.verify(key, repository, digest, body, annotations)


def _gate(spec: Spec, root: Path, url: str, api_key: str | None) -> list[gate.Check]:
    from dockyard.runtime.golden import mismatch

    return service_gate.check_service(spec, root, url, mismatch, _headers(api_key))


def _target(
    spec: Spec, root: Path, env: str, api_key: str | None, stage: bool = True
) -> rollout.Target:
    folder = releases.state_root(root, os.environ) / "envs" / env
    return rollout.Target(
        spec=spec,
        root=root,
        env=env,
        folder=folder,
        url=_url(spec, env),
        rollout=spec.environments[env].rollout,
        headers=_headers(api_key),
        secrets=_stage_secrets(spec, root, env, folder / "secrets") if stage else None,
    )


def _stage_secrets(spec: Spec, root: Path, env: str, out: Path) -> dict[str, Path]:
    """Each secret as a file only the image's user reads, from the environment's own source
    first (`.dockyard/secrets/ENV/NAME`), then the usual ones (`DOCKYARD_SECRET_NAME`,
    `.dockyard/secrets/NAME`)."""
    own = root / ".dockyard" / "secrets" / env
    given = [f"{n}={own / n}" for n in spec.secrets if (own / n).is_file()]
    found = find_secrets(spec, root, given, secret_env(os.environ))
    require_all(spec, found, f"deploy --env {env}")
    if auth.auth_on(spec):
        found[spec.auth.keys_secret] = _api_keys(spec, root, env)
    return write_secrets(found, out, spec.build.uid)


def _api_keys(spec: Spec, root: Path, env: str) -> bytes:
    """The keys file of an environment that requires keys: its own (`.dockyard/secrets/ENV/`),
    else the project's, found or made as `dockyard up` does."""
    own = root / ".dockyard" / "secrets" / env / spec.auth.keys_secret
    if own.is_file():
        return own.read_bytes()
    return stack_secrets.api_keys(spec, root, os.environ).encode()


def _url(spec: Spec, env: str) -> str:
    declared = spec.environments[env].url
    return (declared or f"http://127.0.0.1:{spec.stack.api_port or spec.serving.port}").rstrip("/")


def _headers(api_key: str | None) -> dict[str, str] | None:
    return {"Authorization": f"Bearer {api_key}"} if api_key else None


def _append(
    path: Path,
    env: str,
    action: releases.Action,
    reference: str,
    verified: bool = False,
    **extra: str,
) -> None:
    """Record the change; an image this host never pushed is recorded by its reference (and as
    signed when its signature was verified before deploying)."""
    record = releases.load(path)
    repository, _, digest = reference.partition("@")
    known = record.images.get(digest)
    if known is None or (verified and not known.signed):
        image = known or releases.Image(
            repository=repository,
            tag="",
            digest=digest,
            pushed_at=releases.now(),
            pushed_by="(deployed by reference)",
        )
        record = record.add_image(image.model_copy(update={"signed": image.signed or verified}))
    event = releases.Event(
        action=action, digest=digest, at=releases.now(), by=releases.actor(os.environ), **extra
    )
    releases.save(path, record.add_event(env, event))
