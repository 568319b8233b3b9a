"""`dockyard schedule|runs|pipeline-stage`: the scheduler, its run history, pipeline stages.

Thin: each command reads flags, calls the runtime, prints. The scheduler and stages run in the
foreground until SIGTERM, as they would under a process supervisor.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from dockyard.errors import SpecError, SpecProblem

if TYPE_CHECKING:
    from dockyard.runtime.scheduler.history import History, Run

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
HistoryOpt = Annotated[
    str | None,
    typer.Option("--history", envvar="DOCKYARD_SCHEDULE_HISTORY", help="Run history file"),
]


def register(app: typer.Typer) -> None:
    """Add schedule, runs and pipeline-stage."""
    app.command()(schedule)
    app.command()(runs)
    app.command("pipeline-stage")(pipeline_stage)


def schedule(
    root: Dir = Path("."),
    launcher: Annotated[
        str, typer.Option(help="local: the command in DIR; docker: docker run --rm of the image")
    ] = "local",
    image: Annotated[str | None, typer.Option(help="docker: image (default NAME:VERSION)")] = None,
    history: HistoryOpt = None,
    metrics_port: Annotated[int, typer.Option(help="Prometheus port (0 = none)")] = 0,
    run: Annotated[
        str | None, typer.Option("--run", help="Run this job once now, wait, and exit")
    ] = None,
) -> None:
    """Run the spec's [[schedules]] in the foreground until SIGTERM (the scheduler process)."""
    from dockyard.runtime.scheduler.__main__ import main

    argv = [str(root.resolve()), "--launcher", launcher, "--metrics-port", str(metrics_port)]
    for flag, value in (("--image", image), ("--history", history), ("--run", run)):
        if value:
            argv += [flag, value]
    raise typer.Exit(main(argv))


def runs(
    root: Dir = Path("."),
    job: Annotated[str | None, typer.Option(help="Only this job")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    trigger: Annotated[
        str | None, typer.Option("--trigger", help="Ask the running scheduler to run JOB now")
    ] = None,
    wait: Annotated[float, typer.Option(help="With --trigger: seconds to wait for it")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run")] = False,
    history: HistoryOpt = None,
) -> None:
    """Show the history of scheduled runs (start, end, exit code, log tail), or trigger one."""
    from dockyard.runtime.scheduler.__main__ import history_path
    from dockyard.runtime.scheduler.history import History
    from dockyard.spec import load_spec

    root = root.resolve()
    spec = load_spec(root)
    store = History(history_path(root, history))
    if trigger:
        if trigger not in {s.name for s in spec.schedules}:
            names = ", ".join(s.name for s in spec.schedules) or "none"
            raise SpecError([SpecProblem(str(root), "schedules", trigger, f"one of: {names}")])
        _trigger(store, trigger, wait)
        job = job or trigger
    _show(store.runs(job, limit), as_json)


def _trigger(store: History, name: str, wait: float) -> None:
    """Queue a trigger-now request; with `wait`, return once that run has ended."""
    before = max((r.id for r in store.runs(name, 1)), default=0)
    store.trigger(name, time.time())
    typer.echo(f"triggered {name}", err=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        latest = store.runs(name, 1)
        if latest and latest[0].id > before and latest[0].ended_at is not None:
            return
        time.sleep(0.2)


def _show(records: list[Run], as_json: bool) -> None:
    from dockyard.runtime.scheduler.__main__ import run_record

    if as_json:
        for run in records:
            typer.echo(run_record(run))
        return
    table = Table("id", "job", "trigger", "state", "started (UTC)", "took", "exit", "log tail")
    for run in records:
        took = "" if run.duration_s is None else f"{run.duration_s:.1f}s"
        table.add_row(
            str(run.id), run.job, run.trigger, run.state.value, _when(run.started_at), took,
            "" if run.exit_code is None else str(run.exit_code), _tail(run.reason, run.log_tail),
        )  # fmt: skip
    Console(width=160).print(table)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _tail(reason: str, log: str) -> str:
    """The reason (if any) and the last log line: what a table row has room for."""
    last = log.splitlines()[-1] if log else ""
    return " | ".join(part for part in (reason, last) if part)


def pipeline_stage(
    name: Annotated[str, typer.Argument(help="The stage to run")],
    root: Dir = Path("."),
    queue_dir: Annotated[str | None, typer.Option(help="SQLite queue directory")] = None,
) -> None:
    """Run one pipeline stage's worker in the foreground (what a stage container runs)."""
    from dockyard.runtime.pipeline.__main__ import main

    argv = ["stage", name, str(root.resolve())] + (["--queue-dir", queue_dir] if queue_dir else [])
    raise typer.Exit(main(argv))
