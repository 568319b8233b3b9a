"""Secrets `dockyard up` makes itself: the API keys (when auth is on) and the Redis login.

Each value is generated once into .dockyard/secrets/ (0600, outside the build context, kept
across `up`s so running containers and new ones agree) and staged for Compose in
.dockyard/run-secrets/ as a 0400 file owned by the user of the container that reads it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from dockyard.deploy import auth
from dockyard.deploy.compose.services import SECRETS_SOURCE, layout_for
from dockyard.deploy.grafana import ADMIN_SECRET
from dockyard.spec import Spec

LOCAL = Path(".dockyard") / "secrets"
CLIENT_KEY = "api_key"  # the generated operator key, for `DOCKYARD_API_KEY=$(cat ...)`
METRICS_KEY = "metrics_key"  # Prometheus's key in a cluster (scope `metrics` only)


def stage_generated(spec: Spec, root: Path, image: str, env: Mapping[str, str]) -> list[str]:
    """Stage the stack's own secrets; return what the operator should be told (never values).

    `env` is the CLI's environment: DOCKYARD_SECRET_<KEYS> names a keys file of the user's own.
    """
    notes: list[str] = []
    if auth.auth_on(spec):
        name = spec.auth.keys_secret
        keys, made = _keys(spec, root, env)
        _stage(root, name, keys, spec.build.uid)
        if made:
            notes.append(f"API keys are on; an admin key was written to {LOCAL / CLIENT_KEY}")
    if layout_for(spec, image).redis:
        password = _kept(root, auth.REDIS_PASSWORD, lambda: secrets.token_urlsafe(32))
        _stage(root, auth.REDIS_PASSWORD, password, spec.build.uid)
        acl = auth.redis_acl(password, spec.worker.namespace)
        _stage(root, auth.REDIS_ACL, acl, int(spec.stack.redis_user.split(":")[0]))
    return notes


def stage_grafana_password(spec: Spec, root: Path) -> list[str]:
    """The stack Grafana's admin password, generated once and staged for its container's user."""
    if spec.monitoring.grafana.image is None:
        return []
    password = _kept(root, ADMIN_SECRET, lambda: secrets.token_urlsafe(24))
    _stage(root, ADMIN_SECRET, password, int(spec.monitoring.grafana.user.split(":")[0]))
    return [f"Grafana: user admin, password in {LOCAL / ADMIN_SECRET}"]


def keys_for_cluster(spec: Spec, root: Path, env: Mapping[str, str]) -> list[str]:
    """Make the keys file the manifests mount (once) and say how to create its Secret."""
    if not auth.k8s_auth_on(spec):
        return []
    _, made = _keys(spec, root, env)
    name = spec.auth.keys_secret
    notes = [f"an admin key was written to {LOCAL / CLIENT_KEY}"] if made else []
    return [*notes, "create the keys Secret the pods mount (replace it to rotate keys):",
            f"  kubectl create secret generic {auth.k8s_keys_secret(spec)} "
            f"--from-file={name}={root / LOCAL / name}"]  # fmt: skip


def metrics_for_cluster(spec: Spec, root: Path) -> list[str]:
    """Prometheus's key (scope `metrics`, once) in the keys file, and how to create its Secret."""
    from dockyard.deploy.kubernetes.monitors import TOKEN_KEY, metrics_secret

    if not (spec.kubernetes.service_monitor and auth.k8s_auth_on(spec)):
        return []
    key = _kept(root, METRICS_KEY, lambda: "dk_" + secrets.token_urlsafe(32))
    keys = root / LOCAL / spec.auth.keys_secret
    text = keys.read_text(encoding="utf-8") if keys.is_file() else ""
    if key not in text.split():
        _private(keys, text + f"{key} prometheus metrics\n")
    return [
        "create the Secret Prometheus scrapes with (a key with the metrics scope only):",
        f"  kubectl create secret generic {metrics_secret(spec)} "
        f"--from-file={TOKEN_KEY}={root / LOCAL / METRICS_KEY}",
    ]


def redis_for_cluster(spec: Spec, root: Path) -> list[str]:
    """Make the Redis login (password kept, ACL from it) and say how to create its Secret."""
    from dockyard.deploy.kubernetes.components import redis_login
    from dockyard.deploy.kubernetes.pods import redis_secret

    if not redis_login(spec):
        return []
    password = _kept(root, auth.REDIS_PASSWORD, lambda: secrets.token_urlsafe(32))
    _private(root / LOCAL / auth.REDIS_ACL, auth.redis_acl(password, spec.worker.namespace))
    files = " ".join(
        f"--from-file={name}={root / LOCAL / name}"
        for name in (auth.REDIS_PASSWORD, auth.REDIS_ACL)
    )
    return [
        "create the Redis login Secret (the queue's ACL user; Redis and its clients mount it):",
        f"  kubectl create secret generic {redis_secret(spec)} {files}",
    ]


def api_keys(spec: Spec, root: Path, env: Mapping[str, str]) -> str:
    """The project's keys file text (the user's, else one made now with an admin key)."""
    return _keys(spec, root, env)[0]


def _keys(spec: Spec, root: Path, env: Mapping[str, str]) -> tuple[str, bool]:
    """The user's keys file (DOCKYARD_SECRET_NAME or .dockyard/secrets/NAME), else a new one."""
    name = spec.auth.keys_secret
    given = env.get(f"DOCKYARD_SECRET_{name.upper().replace('-', '_')}")
    if given is not None:
        return given, False
    local = root / LOCAL / name
    if local.is_file():
        return local.read_text(encoding="utf-8"), False
    key = "dk_" + secrets.token_urlsafe(32)
    _private(root / LOCAL / CLIENT_KEY, key + "\n")
    text = auth.keys_file_text(key)
    _private(local, text)
    return text, True


def _kept(root: Path, name: str, make: Callable[[], str]) -> str:
    path = root / LOCAL / name
    if not path.is_file():
        _private(path, make() + "\n")
    return path.read_text(encoding="utf-8").strip()


def _private(path: Path, text: str) -> None:
    """A 0600 file in a 0700 directory, created without a moment of wider permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _stage(root: Path, name: str, text: str, uid: int) -> None:
    """The file Compose mounts at /run/secrets/NAME: 0400, owned by the reading container's user."""
    out = root / SECRETS_SOURCE
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    path = out / name
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)
    else:
        path.chmod(0o444)  # the 0700 directory above keeps other host users out
