"""The API + worker stack's own services: api, worker, the optional redis, and the volume init.

`Layout` holds what the services share (image, which volumes exist, where they mount), decided
once from the spec so that every service agrees on it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.deploy.auth import REDIS_ACL, SECRETS_DIR
from dockyard.deploy.compose.parts import (
    BACK,
    FRONT,
    Service,
    after,
    healthy,
    limited,
    logged,
    production,
    seconds,
)
from dockyard.errors import SpecError, SpecProblem
from dockyard.image.plan import APP_DIR, VENV
from dockyard.spec import Spec
from dockyard.spec.project import Artifact
from dockyard.spec.resources import Resources

API, WORKER, REDIS, INIT = "api", "worker", "redis", "init"
JOBS_VOLUME, CACHE_VOLUME, MODELS_VOLUME, REDIS_VOLUME = "jobs", "cache", "models", "redis"
CACHE_DIR = "/cache"
MODELS_DIR = "/models"
REDIS_DIR = "/data"
SEED_DIR = "/seed"
SECRETS_SOURCE = ".dockyard/run-secrets"  # where `dockyard up` stages secret files, 0400
PYTHON = f"{VENV}/bin/python"
CACHE_ENV = {
    "HF_HOME": f"{CACHE_DIR}/huggingface",
    "TORCH_HOME": f"{CACHE_DIR}/torch",
    "XDG_CACHE_HOME": CACHE_DIR,
}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
_INIT_RESOURCES = Resources(cpus=0.25, memory=64 * 1024**2, shm=0)


@dataclass(frozen=True)
class Layout:
    """Decisions every service of the stack shares."""

    image: str
    workers: bool
    redis: bool
    jobs_dir: str | None
    models: tuple[Artifact, ...]
    cache: bool


def layout_for(spec: Spec, image: str) -> Layout:
    """Read the spec once; a Redis URL that cannot work inside a stack is a spec error."""
    worker = spec.worker
    redis = worker.enabled and worker.backend == "redis" and _our_redis(spec)
    sqlite = worker.enabled and worker.backend == "sqlite"
    models = tuple(a for a in spec.artifacts if a.mode == "volume")
    _check_mounts(models)
    return Layout(
        image=image,
        workers=worker.enabled,
        redis=redis,
        jobs_dir=posixpath.dirname(worker.sqlite_path) if sqlite else None,
        models=models,
        cache=spec.stack.cache,
    )


def _our_redis(spec: Spec) -> bool:
    """True when redis_url names this stack's `redis` service; False for an external server."""
    host = urlsplit(spec.worker.redis_url).hostname or ""
    if host in _LOCAL_HOSTS:
        raise SpecError([
            SpecProblem("dockyard.toml", "worker.redis_url", spec.worker.redis_url,
                        f"the stack's service, redis://{REDIS}:6379/0 (each container has its "
                        "own localhost), or an external server's address"),
        ])  # fmt: skip
    return host == REDIS


def _check_mounts(models: tuple[Artifact, ...]) -> None:
    """Volume artifacts live in one `models` volume, so each must sit directly under /models."""
    bad = [a for a in models if posixpath.dirname(a.container_path) != MODELS_DIR]
    if bad:
        raise SpecError([
            SpecProblem("dockyard.toml", f"artifacts.{a.name}.mount", str(a.mount),
                        f"unset or {MODELS_DIR}/<name> in a stack (the models volume)")
            for a in bad
        ])  # fmt: skip


def api(spec: Spec, layout: Layout) -> Service:
    """The HTTP service: the only one on the front network and the only one publishing a port."""
    service = {
        "image": layout.image,
        "command": ["serve", APP_DIR],
        "environment": _env(spec, layout, {"DOCKYARD_HOST": "0.0.0.0"}),
        "ports": [_port(spec)],
        "networks": [FRONT, BACK] if layout.workers or layout.redis else [FRONT],
        "volumes": _mounts(layout),
        "secrets": list(spec.secrets),
        "stop_grace_period": seconds(spec.serving.graceful_timeout_s + 5),
    }
    service = healthy(service, [PYTHON, "-m", "dockyard.runtime", "healthcheck", APP_DIR], spec)
    service = limited(after(service, **_dependencies(layout)), spec.resources,
                      spec.stack.api_replicas)  # fmt: skip
    return production(service, spec)


def worker(spec: Spec, layout: Layout) -> Service:
    """Queue consumers: back network only (unless egress is asked for), scaled on their own."""
    service = {
        "image": layout.image,
        "command": ["worker", APP_DIR],
        "environment": _env(spec, layout, {}),
        "networks": [BACK, FRONT] if spec.stack.worker_egress else [BACK],
        "volumes": _mounts(layout),
        "secrets": list(spec.secrets),
        # a draining worker finishes (or releases) its claimed batch before it exits
        "stop_grace_period": seconds(spec.serving.graceful_timeout_s + 5),
    }
    # the root before the flag: argparse cannot take an optional positional after `--worker`
    test = [PYTHON, "-m", "dockyard.runtime", "healthcheck", APP_DIR, "--worker"]
    service = healthy(service, test, spec)
    service = limited(after(service, **_dependencies(layout)), spec.resources,
                      spec.worker.replicas)  # fmt: skip
    return production(service, spec)


def redis(spec: Spec) -> Service:
    """The queue's Redis: append-only persistence on its own volume, never evicting a job."""
    service = {
        "image": spec.stack.redis_image,
        "command": [
            "redis-server", "--dir", REDIS_DIR, "--appendonly", "yes", "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            # no default user: only the queue's ACL user, whose password the API and worker
            # read from their own secret file (docs/security.md)
            "--aclfile", f"{SECRETS_DIR}/{REDIS_ACL}",
            "--protected-mode", "no",
        ],
        "networks": [BACK],
        "volumes": [_volume(REDIS_VOLUME, REDIS_DIR)],
        "secrets": [REDIS_ACL],
    }  # fmt: skip
    ping = ["redis-cli", "--user", "health", "--pass", "-", "--no-auth-warning", "ping"]
    service = healthy(service, ping, spec, start_period_s=5)
    resources = Resources(cpus=spec.stack.redis_cpus, memory=spec.stack.redis_memory, shm=0)
    service = limited(after(service, **{INIT: "service_completed_successfully"}), resources)
    return production(service, spec, user=spec.stack.redis_user)


def init(spec: Spec, layout: Layout) -> Service:
    """One-shot: hand the fresh volumes to the runtime user and copy volume artifacts in.

    Named volumes start root-owned; this is the one container that runs as root, with only
    CAP_CHOWN, no network, and exits before any other service starts.
    """
    script = " && ".join(_init_steps(spec, layout))
    service = {
        "image": layout.image,
        "entrypoint": ["/bin/sh", "-c"],
        "command": [script],
        "network_mode": "none",
        "volumes": _init_mounts(layout),
        "healthcheck": {"disable": True},  # a one-shot: dependents wait for it to complete
        "restart": "no",
        "user": "0:0",
        "read_only": True,
        "cap_drop": ["ALL"],
        "cap_add": ["CHOWN"],
        "security_opt": ["no-new-privileges:true"],
    }
    return logged(limited(service, _INIT_RESOURCES), spec)


def needs_init(layout: Layout) -> bool:
    """Whether any named volume needs owning or seeding before the stack starts."""
    return bool(layout.jobs_dir or layout.cache or layout.models or layout.redis)


def _init_steps(spec: Spec, layout: Layout) -> list[str]:
    uid = spec.build.uid
    owned = [d for d in (layout.jobs_dir, CACHE_DIR if layout.cache else None) if d]
    steps = [f"chown {uid}:{uid} {' '.join(owned)}"] if owned else []
    if layout.redis:
        steps.append(f"chown {spec.stack.redis_user} /volumes/{REDIS_VOLUME}")
    for art in layout.models:
        target = f"{MODELS_DIR}/{art.name}"
        steps.append(f"rm -rf {target} && cp -R {SEED_DIR}/{art.name} {target}")
    return steps or ["true"]


def _init_mounts(layout: Layout) -> list[dict[str, Any]]:
    mounts = _mounts(layout, models_writable=True)
    if layout.redis:
        mounts.append(_volume(REDIS_VOLUME, f"/volumes/{REDIS_VOLUME}"))
    for art in layout.models:
        source = art.path if art.path.startswith(("/", "./", "../")) else f"./{art.path}"
        mounts.append({"type": "bind", "source": source, "target": f"{SEED_DIR}/{art.name}",
                       "read_only": True})  # fmt: skip
    return mounts


def _mounts(layout: Layout, models_writable: bool = False) -> list[dict[str, Any]]:
    """Jobs data, the cache, and the models volume (read-only where served)."""
    mounts = []
    if layout.jobs_dir:
        mounts.append(_volume(JOBS_VOLUME, layout.jobs_dir))
    if layout.cache:
        mounts.append(_volume(CACHE_VOLUME, CACHE_DIR))
    if layout.models:
        mounts.append(_volume(MODELS_VOLUME, MODELS_DIR, read_only=not models_writable))
    return mounts


def _volume(name: str, target: str, read_only: bool = False) -> dict[str, Any]:
    mount: dict[str, Any] = {"type": "volume", "source": name, "target": target}
    if read_only:
        mount["read_only"] = True
    return mount


def _dependencies(layout: Layout) -> dict[str, str]:
    out = {REDIS: "service_healthy"} if layout.redis else {}
    if needs_init(layout):
        out[INIT] = "service_completed_successfully"
    return out


def _env(spec: Spec, layout: Layout, extra: dict[str, str]) -> dict[str, str]:
    env = {**spec.env, "DOCKYARD_PORT": str(spec.serving.port), **extra}
    if layout.cache:
        env.update(CACHE_ENV)
    return dict(sorted(env.items()))


def _port(spec: Spec) -> dict[str, Any]:
    """127.0.0.1 by default; a range when several API replicas each need a host port."""
    host = spec.stack.api_port or spec.serving.port
    replicas = spec.stack.api_replicas
    published = f"{host}-{host + replicas - 1}" if replicas > 1 else str(host)
    return {
        "target": spec.serving.port,
        "published": published,
        "host_ip": spec.stack.bind,
        "protocol": "tcp",
    }


__all__ = ["Layout", "api", "init", "layout_for", "needs_init", "redis", "worker"]
