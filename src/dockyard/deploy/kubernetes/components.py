"""The long-running services a spec implies, each scaled on its own: one `Component` each.

API, workers, the pipeline's front and stages, the router's local versions: each becomes its own
Deployment with its own replicas and resources (from its own project's spec for stages and
versions), so inference scales apart from preprocessing and from the queue's consumers.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dockyard.spec import Spec, load_spec, resolve

APP_DIR = "/app"
PYTHON = "/opt/venv/bin/python"
PIPELINE = (PYTHON, "-m", "dockyard.runtime.pipeline")
ROUTER = (PYTHON, "-m", "dockyard.runtime.router")
HEALTHCHECK = (PYTHON, "-m", "dockyard.runtime", "healthcheck", APP_DIR)
REDIS_HOST = "redis"  # the host the spec's redis_url names when the stack runs its own Redis


@dataclass(frozen=True)
class Claim:
    """A ReadWriteOnce volume shared by the pods of one node (SQLite queues)."""

    name: str
    path: str


@dataclass(frozen=True)
class Component:
    """One Deployment: what it runs, how many, with what, and how it is checked and scaled.

    `port` set: an HTTP service (Service, HTTP probes on /readyz and /healthz, HPA on requests
    in flight). Unset: a queue consumer checked by `health` and scaled on `queue` (a PromQL
    expression of its queue's depth) by KEDA.
    """

    role: str
    own: Spec  # the project the pods run: resources, artifacts, uid
    image: str
    args: tuple[str, ...]
    replicas: int
    drain_s: float
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    health: tuple[str, ...] = ()
    metrics_port: int | None = None
    queue: str | None = None
    queue_without_pods: bool = False  # `queue` is exported by another service: zero is safe
    claim: Claim | None = None
    redis_login: bool = False  # logs in to the stack's Redis as its ACL user

    @property
    def serves(self) -> bool:
        return self.port is not None


def components(spec: Spec, image: str, root: Path | None) -> list[Component]:
    """Every service, API first; stages and versions need `root` to read their projects."""
    versions = _versions(spec, image, root) if spec.router.enabled and root else []
    found = [_router(spec, image, versions) if spec.router.enabled else _api(spec, image)]
    if spec.worker.enabled:
        found.append(_worker(spec, image))
    if spec.pipeline.stages and root is not None:
        found += _pipeline(spec, image, root)
    return found + versions


def jobs_claim(spec: Spec) -> Claim | None:
    """SQLite jobs: one node's disk, shared by the API, workers and schedules."""
    if spec.worker.enabled and spec.worker.backend == "sqlite":
        return Claim(f"{spec.project.name}-jobs", posixpath.dirname(spec.worker.sqlite_path))
    return None


def runs_redis(spec: Spec) -> bool:
    """True when a queue's redis_url names the stack's own `redis` (else Redis is external)."""
    urls = []
    if spec.worker.enabled and spec.worker.backend == "redis":
        urls.append(spec.worker.redis_url)
    if spec.pipeline.stages and spec.pipeline.backend == "redis":
        urls.append(spec.pipeline.redis_url)
    return any(urlsplit(url).hostname == REDIS_HOST for url in urls)


def redis_login(spec: Spec) -> bool:
    """The stack's Redis behind an ACL user, as in Compose: when the jobs queue uses it."""
    worker = spec.worker
    ours = urlsplit(worker.redis_url).hostname == REDIS_HOST
    return worker.enabled and worker.backend == "redis" and ours


def _api(spec: Spec, image: str) -> Component:
    return Component(
        role="api",
        own=spec,
        image=image,
        args=("serve", APP_DIR),
        replicas=spec.stack.api_replicas,
        drain_s=spec.serving.graceful_timeout_s,
        env={"DOCKYARD_HOST": "0.0.0.0"},
        port=spec.serving.port,
        claim=jobs_claim(spec),
        redis_login=redis_login(spec),
    )


def _worker(spec: Spec, image: str) -> Component:
    """Drain: the batch in flight (a longer one runs again elsewhere), then its webhook."""
    return Component(
        role="worker",
        own=spec,
        image=image,
        args=("worker", APP_DIR),
        replicas=spec.worker.replicas,
        drain_s=spec.worker.lease_s + spec.worker.webhook_timeout_s,
        health=(*HEALTHCHECK, "--worker"),
        metrics_port=spec.worker.metrics_port or None,
        # every worker and API pod reports the one shared queue: max, not sum. The API's
        # pods export it too, so KEDA sees the queue with no worker up (scale to zero).
        queue=f'max(dockyard_jobs{{state="queued",pod=~"{spec.project.name}-(api|worker)-.*"}})',
        queue_without_pods=True,
        claim=jobs_claim(spec),
        redis_login=redis_login(spec),
    )


def _router(spec: Spec, image: str, versions: list[Component]) -> Component:
    """The router takes the API's place, as in Compose: clients see one service either way."""
    env = {"DOCKYARD_HOST": "0.0.0.0"}
    local = {v.role.removeprefix("model-"): v for v in versions}
    for version in spec.router.versions:
        if version.name in local:
            own = local[version.name]
            env[version.url_env] = f"http://{spec.project.name}-{own.role}:{own.port}"
    return Component(
        role="api",
        own=spec,
        image=image,
        command=ROUTER,
        args=(APP_DIR,),
        replicas=spec.stack.api_replicas,
        drain_s=spec.router.timeout_s,
        env=env,
        port=spec.serving.port,
    )


def _versions(spec: Spec, image: str, root: Path) -> list[Component]:
    found = []
    for version in spec.router.versions:
        if version.path is None:
            continue  # runs elsewhere, reached at its url
        project = resolve(root, version.path)
        own = load_spec(project)
        tag = image if project == root.resolve() else f"{own.project.name}:{own.project.version}"
        found.append(
            Component(
                role=f"model-{version.name}",
                own=own,
                image=tag,
                args=("serve", APP_DIR),
                replicas=own.stack.api_replicas,
                drain_s=own.serving.graceful_timeout_s,
                env={"DOCKYARD_HOST": "0.0.0.0"},
                port=own.serving.port,
            )
        )
    return found


def _pipeline(spec: Spec, image: str, root: Path) -> list[Component]:
    """The HTTP front (runs no model) and one consumer per stage, each in its own image."""
    pipeline = spec.pipeline
    claim = None
    if pipeline.backend == "sqlite":
        claim = Claim(f"{spec.project.name}-pipeline", pipeline.queue_dir)
    front = Component(
        role="pipeline",
        own=spec,
        image=image,
        command=PIPELINE,
        args=("serve", APP_DIR, "--stages", "remote", "--port", str(pipeline.port)),
        replicas=1,
        drain_s=pipeline.sync_timeout_s,
        env={"DOCKYARD_HOST": "0.0.0.0"},
        port=pipeline.port,
        claim=claim,
    )
    found = [front]
    for stage in pipeline.stages:
        own = load_spec(root / stage.path)
        found.append(
            Component(
                role=f"stage-{stage.name}",
                own=own,
                image=f"{own.project.name}:{own.project.version}",
                command=PIPELINE,
                args=("stage", stage.name, APP_DIR),
                replicas=stage.replicas,
                drain_s=stage.lease_s,
                env={
                    **own.env,
                    "DOCKYARD_PIPELINE": pipeline.model_dump_json(),
                    "DOCKYARD_METRICS_PORT": str(pipeline.metrics_port),
                },
                health=(*HEALTHCHECK, "--stage"),
                metrics_port=pipeline.metrics_port or None,
                # the front exports every stage's depth too (max: stage pods repeat it), so
                # KEDA sees the queue with no stage pod up
                queue=_stage_depth(spec.project.name, stage.name),
                queue_without_pods=True,
                claim=claim,
            )
        )
    return found


def _stage_depth(project: str, stage: str) -> str:
    """PromQL of a stage's queued items, as the front and the stage's own pods report it."""
    pods = f"{project}-(pipeline|stage-{stage})-.*"
    return f'max(dockyard_pipeline_queue{{stage="{stage}",state="queued",pod=~"{pods}"}})'
