"""The router's settings, resolved once at the edge: spec, then environment, then explicit URLs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import SpecError, SpecProblem
from dockyard.runtime.auth.config import AuthConfig
from dockyard.runtime.webhooks import read_secret
from dockyard.spec import SPEC_FILE, Spec, resolve
from dockyard.spec.router import Router
from dockyard.spec.serving import MAX_DEFAULT_BODY

WEIGHTS_ENV = "DOCKYARD_ROUTER_WEIGHTS_FILE"


@dataclass(frozen=True)
class RouterConfig:
    """Everything the router needs; nothing is read from the environment after this is built."""

    policy: Router
    urls: Mapping[str, str]
    weights_file: Path | None = None
    admin_token: bytes | None = field(default=None, repr=False)
    max_body_bytes: int = 1024 * 1024
    access_log: bool = True
    auth: AuthConfig = field(default_factory=lambda: AuthConfig(None))
    upstream_key: bytes | None = field(default=None, repr=False)  # DOCKYARD_API_KEY


def router_config(
    spec: Spec,
    root: Path,
    env: Mapping[str, str],
    urls: Mapping[str, str] | None = None,
) -> RouterConfig:
    """Resolve URLs (explicit > DOCKYARD_VERSION_URL_<NAME> > spec url), weights file and token.

    `env` is the process environment, passed in by the entry point (`python -m
    dockyard.runtime.router`, `dockyard router`).
    """
    policy, where = spec.router, str(root / SPEC_FILE)
    if not policy.enabled:
        raise SpecError([SpecProblem(where, "router.enabled", "false", "true to run the router")])
    given = urls or {}
    resolved = {v.name: given.get(v.name) or env.get(v.url_env) or v.url for v in policy.versions}
    problems = [
        SpecProblem(where, f"router.versions.{v.name}", "no URL", f"a url, or {v.url_env} set")
        for v in policy.versions
        if not resolved[v.name]
    ]
    token = read_secret(policy.admin_token_secret, env)
    if policy.admin_token_secret and token is None:
        problems.append(
            SpecProblem(
                where,
                "router.admin_token_secret",
                repr(policy.admin_token_secret),
                "the secret mounted at /run/secrets/<name> or set as DOCKYARD_SECRET_<NAME>",
            )
        )
    if problems:
        raise SpecError(problems)
    weights = env.get(WEIGHTS_ENV) or policy.weights_file
    return RouterConfig(
        policy=policy,
        urls={name: url.rstrip("/") for name, url in resolved.items() if url},
        weights_file=resolve(root, weights) if weights else None,
        admin_token=token,
        # The versions enforce their own, type-sized limits; the router only bounds memory.
        max_body_bytes=spec.serving.max_body_bytes or MAX_DEFAULT_BODY,
        access_log=spec.serving.access_log,
        auth=AuthConfig.resolve(spec, root, env),
        upstream_key=env["DOCKYARD_API_KEY"].encode() if env.get("DOCKYARD_API_KEY") else None,
    )
