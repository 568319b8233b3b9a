"""`python -m dockyard.runtime.pipeline serve|stage|healthcheck`: the pipeline's entrypoints.

    serve DIR [--stages local|remote]   the HTTP front; `local` runs every stage in-process
    stage NAME DIR                      one stage's worker (a stage container's command)
    healthcheck DIR [--stage]           front: /readyz answers 200; stage: fresh heartbeat

Kept free of the CLI's dependencies: images carry only the runtime. Flags and environment are
read here, at the edge: flag > DOCKYARD_* env > spec.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from dockyard.errors import DockyardError, SpecError, SpecProblem
from dockyard.spec import Spec, load_spec, runs_in_container
from dockyard.spec.pipeline import Pipeline

PIPELINE_ENV = "DOCKYARD_PIPELINE"
HEARTBEAT = "/tmp/dockyard-stage.heartbeat"
STALE_AFTER_S = 30.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dockyard.runtime.pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="the HTTP front")
    serve.add_argument("root", nargs="?", default=".")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--stages", choices=["local", "remote"])
    serve.add_argument("--queue-dir", help="Where the SQLite queues live (default: the spec's)")
    stage = commands.add_parser("stage", help="one stage's worker")
    stage.add_argument("name")
    stage.add_argument("root", nargs="?", default=".")
    stage.add_argument("--queue-dir", help="Where the SQLite queues live (default: the spec's)")
    health = commands.add_parser("healthcheck", help="exit 0 when healthy")
    health.add_argument("root", nargs="?", default=".")
    health.add_argument("--stage", action="store_true")
    health.add_argument("--port", type=int)
    return parser


def serve(spec: Spec, root: Path, args: argparse.Namespace) -> int:
    """Serve the front until SIGTERM/SIGINT, drain (the lifespan stops local stages), exit 0."""
    from functools import partial

    from dockyard.runtime.entry.http import HttpOptions, serve_http
    from dockyard.runtime.entry.tls import tls_files
    from dockyard.runtime.pipeline.front import create_front

    env = os.environ
    local = (args.stages or env.get("DOCKYARD_PIPELINE_STAGES") or "local") == "local"
    spec = spec.model_copy(update={"pipeline": with_queue_dir(spec.pipeline, args.queue_dir)})
    options = HttpOptions(
        host=args.host or env.get("DOCKYARD_HOST") or spec.serving.host,
        port=int(args.port or env.get("DOCKYARD_PIPELINE_PORT") or spec.pipeline.port),
        service=f"{spec.project.name}-front",
        grace_s=spec.serving.graceful_timeout_s,
        log_level=env.get("DOCKYARD_LOG_LEVEL", "info"),
        tls=tls_files(spec, root, env),
    )
    return serve_http(partial(create_front, spec, root, env, local), options)


def with_queue_dir(pipeline: Pipeline, flag: str | None) -> Pipeline:
    """Apply --queue-dir, else DOCKYARD_PIPELINE_QUEUE_DIR (a developer's local directory)."""
    chosen = flag or os.environ.get("DOCKYARD_PIPELINE_QUEUE_DIR")
    return pipeline.model_copy(update={"queue_dir": chosen}) if chosen else pipeline


def wiring(name: str, root: Path) -> tuple[Pipeline, Path]:
    """The pipeline and the stage's project directory.

    Run from the pipeline's own directory, both come from its spec. In a stage container the
    directory is the stage's project, and the stack passes the pipeline table as JSON in
    DOCKYARD_PIPELINE (so one spec stays the single source of the wiring).
    """
    spec = load_spec(root, runs_in_container(os.environ))
    if any(s.name == name for s in spec.pipeline.stages):
        return spec.pipeline, (root / spec.pipeline.stage(name).path).resolve()
    raw = os.environ.get(PIPELINE_ENV)
    if raw is None:
        raise SpecError([SpecProblem(str(root), "pipeline.stages", name, "a stage of this name")])
    pipeline = Pipeline.model_validate_json(raw)
    pipeline.stage(name)
    return pipeline, root


def run_stage(name: str, root: Path, queue_dir: str | None = None) -> int:
    """Run one stage's worker until SIGTERM/SIGINT, then drain."""
    from functools import partial

    from dockyard.runtime.entry.loop import run_until_signal
    from dockyard.runtime.entry.metrics import serve_metrics
    from dockyard.runtime.logs import configure_logging
    from dockyard.runtime.pipeline.metrics import PipelineMetrics
    from dockyard.runtime.pipeline.queues import StageQueues
    from dockyard.runtime.pipeline.stage import load_stage, stage_worker
    from dockyard.runtime.worker.heartbeat import WorkerState, beat

    pipeline, stage_root = wiring(name, root)
    pipeline = with_queue_dir(pipeline, queue_dir)
    configure_logging(service=f"pipeline-{name}")
    if pipeline.backend == "memory":
        raise SpecError(
            [SpecProblem(PIPELINE_ENV, "pipeline.backend", "memory", "sqlite or redis")]
        )
    heartbeat = Path(os.environ.get("DOCKYARD_HEARTBEAT_FILE", HEARTBEAT))
    beat(heartbeat, WorkerState.STARTING)
    predict = load_stage(stage_root, runs_in_container(os.environ))
    queues = StageQueues(pipeline, root, os.environ)
    metrics = PipelineMetrics()
    metrics.watch(lambda: [(name, queues[name])])
    from dockyard.runtime.auth.config import AuthConfig

    port = int(os.environ.get("DOCKYARD_METRICS_PORT", pipeline.metrics_port))
    serve_metrics(metrics.registry, port, AuthConfig.from_environ(os.environ))
    worker_id = os.environ.get("DOCKYARD_WORKER_ID", f"{socket.gethostname()}-{os.getpid()}")
    worker = stage_worker(
        pipeline, name, predict, queues, metrics, worker_id, partial(beat, heartbeat)
    )
    code = run_until_signal(worker.run, worker.stop, f"pipeline-{name}")
    queues.close()
    return code


def healthcheck(spec: Spec, args: argparse.Namespace) -> int:
    """0 when healthy: the stage's heartbeat is fresh, or the front's /readyz answers 200."""
    if args.stage:
        from dockyard.runtime.worker.heartbeat import is_healthy

        path = Path(os.environ.get("DOCKYARD_HEARTBEAT_FILE", HEARTBEAT))
        healthy, why = is_healthy(path, STALE_AFTER_S)
        print(why)
        return 0 if healthy else 1
    from dockyard.runtime.__main__ import healthcheck as http_healthcheck

    return http_healthcheck(args.port or spec.pipeline.port)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.root).resolve()
    try:
        if args.command == "stage":
            return run_stage(args.name, root, args.queue_dir)
        spec = load_spec(root, runs_in_container(os.environ))
        if args.command == "healthcheck":
            return healthcheck(spec, args)
        return serve(spec, root, args)
    except DockyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
