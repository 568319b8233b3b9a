"""Where the keys come from, read once at the edge (the app factory) from the spec and env."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import SpecError, SpecProblem
from dockyard.runtime.auth.limiter import Limits
from dockyard.runtime.auth.shared import RedisLimits
from dockyard.spec import Spec

KEYS_FILE_ENV = "DOCKYARD_AUTH_KEYS_FILE"
SECRETS_DIR = Path("/run/secrets")


@dataclass(frozen=True)
class AuthConfig:
    """`keys_file` None: auth is off (development on 127.0.0.1)."""

    keys_file: Path | None
    limits: Limits = field(default_factory=Limits)
    shared: RedisLimits | None = None  # keep the limits in this Redis (several API processes)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AuthConfig:
        """Keys only where the deployment names a file (processes without a spec of their own)."""
        named = environ.get(KEYS_FILE_ENV)
        return cls(Path(named) if named else None)

    @classmethod
    def resolve(
        cls, spec: Spec, root: Path, environ: Mapping[str, str], secrets_dir: Path = SECRETS_DIR
    ) -> AuthConfig:
        """On when the spec says so or the deployment names a keys file (DOCKYARD_AUTH_KEYS_FILE).

        The file is the secret mounted at /run/secrets/NAME, or, for `dockyard serve`, the
        project's .dockyard/secrets/NAME. Enabled with no file is an error, never an open door.
        """
        auth = spec.auth
        limits = Limits(auth.rps, auth.burst, auth.max_in_flight)
        named = environ.get(KEYS_FILE_ENV)
        if named:
            return cls(Path(named), limits, _shared(spec, environ))
        if not auth.enabled:
            return cls(None, limits)
        for candidate in (
            secrets_dir / auth.keys_secret,
            root / ".dockyard/secrets" / auth.keys_secret,
        ):
            if candidate.is_file():
                return cls(candidate, limits, _shared(spec, environ))
        raise SpecError([
            SpecProblem("dockyard.toml", "auth.keys_secret", auth.keys_secret,
                        f"a keys file at {secrets_dir}/{auth.keys_secret} or "
                        f".dockyard/secrets/{auth.keys_secret} (or set {KEYS_FILE_ENV}); "
                        "one 'KEY ID SCOPES' per line, see docs/security.md"),
        ])  # fmt: skip


def _shared(spec: Spec, environ: Mapping[str, str]) -> RedisLimits | None:
    """The jobs queue's Redis (and its login) when there is one: replicas share their limits."""
    worker = spec.worker
    if not (spec.auth.shared_limits and worker.enabled and worker.backend == "redis"):
        return None
    from dockyard.runtime.queue import redis_login

    return RedisLimits(worker.redis_url, worker.namespace, redis_login(environ))
