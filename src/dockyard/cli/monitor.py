"""`dockyard monitor` writes alert rules, a dashboard and the drift baseline; `dockyard status`
prints a running service's key figures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

from dockyard.deploy.monitoring import (
    DASHBOARD_FILE,
    OVERLAY_FILE,
    PROMETHEUS_DOCKERFILE,
    PROMETHEUS_IMAGE,
    RULES_FILE,
    render_dashboard,
    render_rules,
)
from dockyard.deploy.monitoring_files import RULES_HEADER, write_monitoring
from dockyard.deploy.stack import Project
from dockyard.deploy.stack_secrets import stage_grafana_password
from dockyard.errors import DockyardError, EngineError
from dockyard.image.context import Entry, write_tar
from dockyard.image.engine import Engine
from dockyard.spec import Spec, load_spec

Dir = Annotated[Path, typer.Argument(help="Project directory (holds dockyard.toml)")]
DEFAULT_BASE = "dockyard-local/python:3.11-bookworm"


def register(app: typer.Typer) -> None:
    """Add monitor and status."""
    app.command()(monitor)
    app.command()(status)


def monitor(
    root: Dir = Path("."),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the rules and dashboard (default DIR/monitoring)"),
    ] = None,
    job: Annotated[
        str | None, typer.Option(help="Prometheus scrape job of the service (default: its name)")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also write the drift baseline from the eval/golden data")
    ] = True,
) -> None:
    """Write Prometheus alert rules, a Grafana dashboard and the input-drift baseline."""
    from dockyard.runtime.monitor.baseline import BASELINE_FILE, baseline_for

    root = root.resolve()
    spec = load_spec(root)
    folder = out or root / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    rules = yaml.safe_dump(render_rules(spec, job), sort_keys=False, width=200)
    (folder / RULES_FILE).write_text(RULES_HEADER + rules, encoding="utf-8")
    dashboard = json.dumps(render_dashboard(spec, job), indent=2) + "\n"
    (folder / DASHBOARD_FILE).write_text(dashboard, encoding="utf-8")
    typer.echo(f"wrote {folder / RULES_FILE}\nwrote {folder / DASHBOARD_FILE}")
    if baseline:
        made = baseline_for(spec, root)
        if made is None:
            typer.echo("no baseline: set gate.eval or health.golden (JSON lines with 'input')")
            return
        path = root / (spec.monitoring.drift.baseline or BASELINE_FILE)
        path.write_text(made.to_json(), encoding="utf-8")
        typer.echo(f"wrote {path} ({made.rows} rows, {len(made.inputs)} features)")


def with_monitoring(spec: Spec, root: Path, project: Project, base: str | None) -> Project:
    """Add Prometheus (rules loaded) to a stack: files, image if missing, the Compose overlay.

    With [monitoring.grafana] image set, Grafana too (provisioned from files; see deploy.grafana).
    """
    image = ensure_prometheus_image(base or DEFAULT_BASE)
    write_monitoring(spec, root, image)
    for note in stage_grafana_password(spec, root):
        typer.echo(note, err=True)
    return replace(project, files=(*project.files, OVERLAY_FILE))


def ensure_prometheus_image(base: str) -> str:
    """Build dockyard-local/prometheus from the host's Debian binary unless it exists."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise EngineError("--monitoring needs Prometheus on this host: apt-get install prometheus")
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout.split()[2:3] or ["local"]
    tag = PROMETHEUS_IMAGE.format(version=version[0].split("+")[0])
    engine = Engine.connect()
    if engine.image(tag) is None:
        with tempfile.TemporaryFile() as context:
            dockerfile = PROMETHEUS_DOCKERFILE.format(base=base).encode()
            files = [Entry("Dockerfile", data=dockerfile), Entry("prometheus", path=Path(binary))]
            write_tar(files, context)
            context.seek(0)
            engine.build(context, tag, lambda step: None)
    return tag


def baseline_entries(spec: Spec, root: Path, app_files: Sequence[str]) -> tuple[Entry, ...]:
    """The drift baseline for the image when the project has none of its own (a build step)."""
    from dockyard.runtime.monitor.baseline import BASELINE_FILE, baseline_for

    name = spec.monitoring.drift.baseline or BASELINE_FILE
    if not spec.monitoring.drift.enabled or name in app_files:
        return ()
    made = baseline_for(spec, root)
    return () if made is None else (Entry(f"app/{name}", data=made.to_json().encode()),)


def status(
    targets: Annotated[
        list[str], typer.Argument(help="Project directories or service URLs (several: a stack)")
    ],
) -> None:
    """Print the key figures of running services (what their /status page shows)."""
    console = Console()
    for target in targets:
        url = _url_of(target)
        try:
            answer = httpx.get(url.rstrip("/") + "/status.json", timeout=5)
        except httpx.HTTPError as exc:
            raise DockyardError(f"{url}: not reachable ({exc}); is the service running?") from exc
        if answer.status_code != 200:
            raise DockyardError(f"{url}/status.json answered {answer.status_code}: {answer.text}")
        console.print(figures_table(url, answer.json()))


def _url_of(target: str) -> str:
    if target.startswith(("http://", "https://")):
        return target
    spec = load_spec(Path(target).resolve())
    return f"http://127.0.0.1:{spec.serving.port}"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{digits}f}"
    return str(int(value)) if isinstance(value, float) else str(value)


def figures_table(url: str, body: dict[str, Any]) -> Table:
    """One table per service: health, traffic, quality and the most drifted features."""
    f = body["figures"]
    title = f"{body.get('model', '?')} v{body.get('version', '?')} at {url}"
    table = Table("figure", "value", title=title, title_justify="left")
    canary = {None: "-", 1.0: "passing", 0.0: "FAILING"}.get(f.get("canary_ok"), "?")
    rows = [
        ("state", f.get("state") or "-"),
        ("canary", canary),
        ("requests", _fmt(f["requests"])),
        ("5xx errors", _fmt(f["errors"])),
        (
            "latency p50 / p95 ms",
            f"{_fmt(f['latency_p50_ms'], 2)} / {_fmt(f['latency_p95_ms'], 2)}",
        ),
        ("queue depth", _fmt(f["queue_depth"])),
        ("mean batch", _fmt(f["batch_mean"], 2)),
    ]
    rows += [(f"score {k}", _fmt(v)) for k, v in f["score"].items()]
    rows += [(f"label coverage {k}", _fmt(v)) for k, v in f["coverage"].items()]
    drifted = sorted(f["input_psi"].items(), key=lambda kv: kv[1], reverse=True)[:5]
    rows += [(f"drift PSI {k}", _fmt(v)) for k, v in drifted]
    rows += [(f"prediction drift PSI {k}", _fmt(v)) for k, v in f["prediction_psi"].items()]
    rows += [(f"version {k} up", _fmt(v)) for k, v in f["versions_up"].items()]
    for name, value in rows:
        table.add_row(name, value)
    return table
