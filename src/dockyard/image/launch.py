"""Start a project's containers as production would (`run`, `test`) and take them down again.

An API container, and for a SQLite jobs project a worker container sharing an in-memory jobs
volume (the root filesystem is read-only). Everything is labelled with the project; a start-up
failure removes what was created and raises with the reason and the last log lines.
"""

from __future__ import annotations

import secrets as tokens
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from dockyard.errors import EngineError
from dockyard.image import startup
from dockyard.image.container import (
    PROJECT_LABEL,
    RunSettings,
    container_config,
    jobs_dir,
    labels_for,
)
from dockyard.image.container import published_url as _published_url
from dockyard.image.engine import Engine
from dockyard.image.secrets import private_dir, remove_secrets, write_secrets
from dockyard.spec import Spec

EPHEMERAL = "dev.dockyard.ephemeral"


@dataclass(frozen=True)
class Launched:
    """What a launch created, so it can be used and removed."""

    api: str
    url: str
    elapsed_s: float
    worker: str | None = None
    volume: str | None = None
    secrets_dir: Path | None = None
    startup: Mapping[str, Any] | None = None  # the service's own start-up breakdown (/readyz)
    tls: ssl.SSLContext | None = None  # trusts the service's own certificate when it speaks TLS

    @property
    def containers(self) -> tuple[str, ...]:
        return tuple(c for c in (self.worker, self.api) if c)


def launch(
    engine: Engine,
    spec: Spec,
    root: Path,
    settings: RunSettings,
    secrets: Mapping[str, bytes],
    timeout_s: float,
    keep_secrets: bool = False,
) -> Launched:
    """Create, start and wait; on failure remove everything and raise the reason.

    The plaintext secret copies are deleted once the containers run (their mounts keep the
    files) unless `keep_secrets`, for a caller that reads them too; `teardown` deletes them then.
    """
    engine.prune_volumes([f"{EPHEMERAL}=true", f"{PROJECT_LABEL}={spec.project.name}"])
    secrets_dir = private_dir()
    settings = replace(
        settings,
        secrets=write_secrets(secrets, secrets_dir, spec.build.uid),
        jobs_volume=_jobs_volume(engine, spec),
    )
    created = Launched("", "", 0.0, None, settings.jobs_volume, secrets_dir)
    try:
        created = replace(created, api=engine.create(**container_config(spec, root, settings)))
        tls = _tls(spec, secrets)
        url, ready = _wait(engine, spec, created.api, timeout_s, tls)
        created = replace(created, url=url, elapsed_s=ready.elapsed_s, tls=tls)
        created = replace(created, startup=ready.readiness.startup)
        if settings.jobs_volume:
            worker = engine.create(**container_config(spec, root, settings, role="worker"))
            created = replace(created, worker=worker)
            engine.start(worker)
    except BaseException:
        teardown(engine, created)
        raise
    if not keep_secrets:
        remove_secrets(secrets_dir)
    return created


def teardown(engine: Engine, launched: Launched) -> None:
    """Remove the containers, the jobs volume and the plaintext secret copies."""
    for container in launched.containers:
        engine.remove(container)
    if launched.volume:
        _remove_volume(engine, launched.volume)
    if launched.secrets_dir:
        remove_secrets(launched.secrets_dir)


def _tls(spec: Spec, secrets: Mapping[str, bytes]) -> ssl.SSLContext | None:
    """With auth.tls_*, the service speaks HTTPS: trust its certificate (from the secret)."""
    if not spec.auth.tls:
        return None
    return startup.pinned_context(secrets[spec.auth.tls_cert_secret])


def _wait(
    engine: Engine, spec: Spec, container: str, timeout_s: float, tls: ssl.SSLContext | None
) -> tuple[str, startup.Outcome]:
    """Start and wait for readiness; raise with the engine's and the service's reasons."""
    logs = engine.follow(container)
    since = time.time()
    engine.start(container)
    url = _url(engine, container, spec.serving.port)
    if tls is not None:
        url = "https" + url.removeprefix("http")
    running = partial(_running, engine, container)
    outcome = startup.wait_ready(url, running, timeout_s, context=tls)
    if outcome.ok:
        return url, outcome
    time.sleep(0.5)  # let the last output lines and the `die` event arrive
    said = startup.engine_reason(
        engine.state(container), engine.events(container, since, time.time())
    )
    raise EngineError(startup.explain(outcome, said, spec.resources.memory, list(logs)))


def _url(engine: Engine, container: str, port: int) -> str:
    """The published URL; a container already gone gets an address that never answers."""
    try:
        return _published_url(engine.inspect(container), port)
    except Exception:  # removed already (auto-removal), or its port is not published yet
        return "http://127.0.0.1:9"


def _running(engine: Engine, container: str) -> bool:
    state = engine.state(container)
    return bool(state and state.get("Running"))


def _jobs_volume(engine: Engine, spec: Spec) -> str | None:
    if jobs_dir(spec) is None:
        return None
    name = f"dockyard-{spec.project.name}-jobs-{tokens.token_hex(4)}"
    labels = labels_for(spec, {EPHEMERAL: "true"})
    return engine.create_volume(name, labels, spec.build.uid)


def _remove_volume(engine: Engine, name: str) -> None:
    """The auto-removed containers may still be going away; retry briefly."""
    for _ in range(20):
        try:
            engine.remove_volume(name)
            return
        except Exception:
            time.sleep(0.25)
    engine.remove_volume(name)


__all__ = ["EPHEMERAL", "Launched", "launch", "teardown"]
