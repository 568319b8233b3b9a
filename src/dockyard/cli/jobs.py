"""`dockyard jobs submit|status|list|cancel|retry-dead` (over the Jobs API) and `dockyard worker`.

The jobs commands talk HTTP to a running service (`--url`, or DOCKYARD_URL), so an operator can
use them against any deployment, whichever queue back end it runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from dockyard.errors import JobError

jobs_app = typer.Typer(
    help="Submit and manage background jobs (the worker pattern).", no_args_is_help=True
)

Url = Annotated[
    str, typer.Option(envvar="DOCKYARD_URL", help="Base URL of the service with the Jobs API")
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="DOCKYARD_API_KEY", help="API key (sent as a bearer token)",
        show_default=False,
    ),
]  # fmt: skip
DEFAULT_URL = "http://127.0.0.1:8000"


def register(app: typer.Typer) -> None:
    """Add `jobs` (a command group) and `worker`."""
    app.add_typer(jobs_app, name="jobs")
    app.command()(worker)


def worker(root: Annotated[Path, typer.Argument(help="Project directory")] = Path(".")) -> None:
    """Run a worker: claim queued jobs in batches, run the model, store results, until SIGTERM."""
    from dockyard.runtime.worker import main
    from dockyard.spec import load_spec

    root = root.resolve()
    raise typer.Exit(main(load_spec(root), root))


def _call(method: str, url: str, api_key: str | None, path: str, **kwargs: Any) -> Any:
    """One API call; an error reply becomes a JobError with the service's message."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.request(
            method, url.rstrip("/") + path, timeout=30, headers=headers, **kwargs
        )
    except httpx.HTTPError as exc:
        raise JobError(f"cannot reach the Jobs API at {url}: {exc}") from exc
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text
        raise JobError(f"{response.status_code}: {message}")
    return response.json()


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _inputs(value: str) -> Any:
    """JSON from the argument, from @file, or from stdin when '-'."""
    text = (
        sys.stdin.read()
        if value == "-"
        else Path(value[1:]).read_text()
        if value.startswith("@")
        else value
    )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JobError(f"the input is not JSON: {exc}") from exc


@jobs_app.command()
def submit(
    input: Annotated[str, typer.Argument(help="One input as JSON, @file.json, or - for stdin")],
    batch: Annotated[
        bool, typer.Option("--batch", help="The JSON is a list: one job per item")
    ] = False,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key")] = None,
    webhook: Annotated[str | None, typer.Option(help="URL called when the job finishes")] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Queue one input (or a batch with --batch); prints the job(s)."""
    body: dict[str, Any] = {"inputs" if batch else "input": _inputs(input)}
    body.update({k: v for k, v in (("idempotency_key", key), ("webhook", webhook)) if v})
    _print(_call("POST", url, api_key, "/jobs", json=body))


@jobs_app.command()
def status(job_id: str, url: Url = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Show a job: state, attempts, result or last error, webhook delivery."""
    _print(_call("GET", url, api_key, f"/jobs/{job_id}"))


@jobs_app.command("list")
def list_jobs(
    state: Annotated[
        str | None, typer.Option(help="queued, running, done, dead or cancelled")
    ] = None,
    batch: Annotated[str | None, typer.Option(help="Only this batch")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    after: Annotated[
        str | None, typer.Option(help="Cursor: the `next` of the previous page")
    ] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """List jobs, oldest first."""
    params = {k: v for k, v in (("state", state), ("batch", batch), ("after", after)) if v}
    _print(_call("GET", url, api_key, "/jobs", params={**params, "limit": limit}))


@jobs_app.command()
def cancel(job_id: str, url: Url = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Cancel a queued or running job (a running job's result is discarded)."""
    _print(_call("POST", url, api_key, f"/jobs/{job_id}/cancel"))


@jobs_app.command("retry-dead")
def retry_dead(
    job_ids: Annotated[
        list[str] | None, typer.Argument(help="Only these jobs (default: all)")
    ] = None,
    url: Url = DEFAULT_URL,
    api_key: ApiKey = None,
) -> None:
    """Requeue dead-lettered jobs with fresh attempts."""
    _print(
        _call("POST", url, api_key, "/jobs/dead/retry", json={"ids": job_ids} if job_ids else {})
    )


@jobs_app.command()
def stats(url: Url = DEFAULT_URL, api_key: ApiKey = None) -> None:
    """Counts per state, the oldest queued job, webhooks pending."""
    _print(_call("GET", url, api_key, "/jobs/stats"))
