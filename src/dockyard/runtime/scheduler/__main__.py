"""`python -m dockyard.runtime.scheduler DIR`: run the spec's scheduled jobs until SIGTERM.

    --launcher local|docker   local: the command in DIR; docker: `docker run --rm` of the image
    --image TAG               docker: the image (default NAME:VERSION, what `dockyard build` tags)
    --history PATH            the run history (default DIR/.dockyard/schedule/history.sqlite3)
    --metrics-port N          Prometheus /metrics (0 = none)
    --run NAME                run one job now, wait, print its record, exit with its exit code

The scheduler is a host process (or a host service), never a container: the Docker launcher
uses the host's docker CLI and nothing mounts the Docker socket. Flags > DOCKYARD_* env > spec.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from dockyard.errors import DockyardError, SpecError, SpecProblem
from dockyard.runtime.scheduler.core import Scheduler
from dockyard.runtime.scheduler.history import History, Run
from dockyard.runtime.scheduler.launcher import Launcher, ProcessLauncher, docker_argv, local_argv
from dockyard.runtime.scheduler.metrics import ScheduleMetrics
from dockyard.spec import Spec, load_spec, runs_in_container

HISTORY = ".dockyard/schedule/history.sqlite3"


def history_path(root: Path, flag: str | None = None) -> Path:
    """Flag > DOCKYARD_SCHEDULE_HISTORY > the project's .dockyard directory."""
    chosen = flag or os.environ.get("DOCKYARD_SCHEDULE_HISTORY")
    return Path(chosen) if chosen else root / HISTORY


def launcher_for(
    spec: Spec, root: Path, kind: str, image: str | None, logs: Path, environ: Mapping[str, str]
) -> Launcher:
    """The local or Docker launcher; local runs see the spec's [env] under the host's own.

    `environ` is the scheduler's own environment (read by `main`), the base of every child's.
    """
    if kind == "docker":
        tag = image or f"{spec.project.name}:{spec.project.version}"
        return ProcessLauncher(docker_argv(spec, tag), logs, root, environ, docker_names=True)
    env = {**spec.env, **environ}
    return ProcessLauncher(local_argv, logs, root, env)


def build(
    spec: Spec, root: Path, args: argparse.Namespace, environ: Mapping[str, str]
) -> Scheduler:
    """A scheduler over the spec's jobs, with its history, launcher and metrics."""
    if not spec.schedules:
        raise SpecError([SpecProblem(str(root), "schedules", "none", "[[schedules]] entries")])
    path = history_path(root, args.history)
    launcher = launcher_for(spec, root, args.launcher, args.image, path.parent / "logs", environ)
    return Scheduler(spec.schedules, History(path), launcher, metrics=ScheduleMetrics())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dockyard.runtime.scheduler")
    parser.add_argument("root", nargs="?", default=".")
    parser.add_argument(
        "--launcher",
        choices=["local", "docker"],
        default=os.environ.get("DOCKYARD_SCHEDULE_LAUNCHER", "local"),
    )
    parser.add_argument("--image")
    parser.add_argument("--history")
    parser.add_argument(
        "--metrics-port", type=int, default=int(os.environ.get("DOCKYARD_METRICS_PORT", "0"))
    )
    parser.add_argument("--run", metavar="NAME")
    return parser


def run_record(run: Run) -> str:
    """A run as one JSON line."""
    data = asdict(run)
    data["state"] = run.state.value
    return json.dumps(data)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.root).resolve()
    try:
        spec = load_spec(root, runs_in_container(os.environ))
        scheduler = build(spec, root, args, dict(os.environ))
        if args.run:
            run = scheduler.run_now(args.run)
            print(run_record(run))
            return run.exit_code or 0
        return serve(scheduler, args.metrics_port)
    except DockyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyError as exc:
        print(f"error: no scheduled job {exc}", file=sys.stderr)
        return 2


def serve(scheduler: Scheduler, metrics_port: int) -> int:
    """Run until SIGTERM/SIGINT with logs and (optionally) metrics; 0 once drained."""
    from dockyard.runtime.entry.loop import run_until_signal
    from dockyard.runtime.entry.metrics import serve_metrics
    from dockyard.runtime.logs import configure_logging

    configure_logging(service="scheduler")
    serve_metrics(scheduler.metrics.registry, metrics_port)
    return run_until_signal(scheduler.run_forever, scheduler.stop, "scheduler")


if __name__ == "__main__":
    sys.exit(main())
