"""The pipeline's HTTP front: submit an item and wait for it (sync) or get a job id (async).

`PipelineService` is a routes object like the jobs pattern's `JobsService`: any Starlette app
can mount `routes` and call `startup()` / `shutdown()` from its lifespan. With `local=True` it
also runs every stage in this process (development); in a stack, stages run in containers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.runtime.auth.middleware import caller
from dockyard.runtime.http import HTTPError as ApiError
from dockyard.runtime.http import answers_errors
from dockyard.runtime.pipeline.local import LocalStages
from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.pipeline.queues import StageQueues
from dockyard.runtime.pipeline.stage import stage_dirs
from dockyard.runtime.pipeline.status import ItemState, ItemStatus, item_status
from dockyard.runtime.queue import JobState
from dockyard.spec import Spec, runs_in_container

POLL_MIN_S, POLL_MAX_S = 0.002, 0.1


class PipelineService:
    """The /pipeline routes, the stage queues they share, and (locally) the stages themselves."""

    def __init__(
        self, spec: Spec, root: Path, local: bool = True, *, environ: Mapping[str, str]
    ) -> None:
        """`environ`: the process's environment, from its entry point (Redis login, image)."""
        if not spec.pipeline.stages:
            raise ValueError("the spec has no [[pipeline.stages]]")
        self.spec, self.root, self.local, self.environ = spec, root, local, environ
        self.pipeline = spec.pipeline
        self.metrics = PipelineMetrics()
        self.stages: LocalStages | None = None
        self._queues: StageQueues | None = None
        self.routes: list[BaseRoute] = [
            Route("/pipeline", answers_errors(self.run), methods=["POST"]),
            Route("/pipeline/jobs", answers_errors(self.submit), methods=["POST"]),
            Route("/pipeline/jobs/{item}", answers_errors(self.get), methods=["GET"]),
            Route("/pipeline/stats", answers_errors(self.stats), methods=["GET"]),
            Route("/pipeline/dead/retry", answers_errors(self.retry_dead), methods=["POST"]),
            Route("/pipeline/metrics", self.exposition, methods=["GET"]),
        ]

    async def startup(self) -> None:
        """Open the queues; locally, also set up every stage's model and start its loop."""
        self._queues = await run_in_threadpool(StageQueues, self.pipeline, self.root, self.environ)
        self.metrics.watch(self._queues.items)
        if self.local:
            dirs = stage_dirs(self.pipeline, self.root, str(self.root / "dockyard.toml"))
            self.stages = LocalStages(
                self.pipeline, self._queues, self.metrics, runs_in_container(self.environ)
            )
            await run_in_threadpool(self.stages.start, dirs)

    async def shutdown(self) -> None:
        """1. drain local stages (in-flight batches finish), 2. close the queues."""
        if self.stages is not None:
            await run_in_threadpool(self.stages.stop)
            self.stages = None
        if self._queues is not None:
            await run_in_threadpool(self._queues.close)
            self._queues = None

    @property
    def queues(self) -> StageQueues:
        if self._queues is None:
            raise ApiError(503, "unavailable", "the pipeline is not started")
        return self._queues

    async def run(self, request: Request) -> Response:
        """POST /pipeline: `{"input": x}`; waits for the output unless the mode is "job"."""
        if self.pipeline.mode == "job":
            return await self.submit(request)
        body = await _json_object(request)
        timeout = _timeout(request.query_params.get("timeout"), self.pipeline.sync_timeout_s)
        job = await self._submit(body, request)
        status = await self.wait(job.batch or job.id, timeout)
        return _finished(status)

    async def submit(self, request: Request) -> Response:
        """POST /pipeline/jobs: queue `{"input": x}`; answers 202 with the item's id."""
        job = await self._submit(await _json_object(request), request)
        return JSONResponse({"id": job.batch, "state": ItemState.QUEUED.value}, 202)

    async def _submit(self, body: dict[str, Any], request: Request) -> Any:
        if "input" not in body:
            raise ApiError(422, "invalid_request", 'send {"input": ...}')
        key = body.get("idempotency_key") or request.headers.get("idempotency-key")
        owner = _submitter(request)
        return await run_in_threadpool(self.queues.submit, body["input"], key, None, owner)

    async def get(self, request: Request) -> Response:
        """GET /pipeline/jobs/{id}: state, the stage it is at, output or error, per-stage view.

        Only the submitting key (or an admin key) sees an item; others get 404, never 403.
        """
        item = request.path_params["item"]
        status = await run_in_threadpool(self.status, item, _viewer(request))
        if status is None:
            raise ApiError(404, "not_found", f"no item {item!r}")
        return JSONResponse(status.public())

    def status(self, item: str, viewer: str | None = None) -> ItemStatus | None:
        """The item's status (None when unknown, or not `viewer`'s when a viewer is given)."""
        trace = self.queues.trace(item)
        first = trace[0][1] if trace else None
        if viewer is not None and (first is None or first.owner != viewer):
            return None
        return item_status(item, trace)

    async def wait(self, item: str, timeout: float) -> ItemStatus | None:
        """Poll until the item is final or `timeout` passes; the poll interval doubles."""
        deadline, delay = time.monotonic() + timeout, POLL_MIN_S
        while True:
            status = await run_in_threadpool(self.status, item)
            left = deadline - time.monotonic()
            if (status is not None and status.state.final) or left <= 0:
                return status
            await asyncio.sleep(min(delay, left))
            delay = min(POLL_MAX_S, delay * 2)

    async def stats(self, _: Request) -> Response:
        """GET /pipeline/stats: counts per state in each stage's queue."""
        stats = await run_in_threadpool(
            lambda: {name: q.stats() for name, q in self.queues.items()}
        )
        return JSONResponse(
            {name: {s.value: st.count(s) for s in JobState} for name, st in stats.items()}
        )

    async def retry_dead(self, _: Request) -> Response:
        """POST /pipeline/dead/retry: requeue every stage's dead-lettered items."""
        counts = await run_in_threadpool(
            lambda: {name: q.retry_dead() for name, q in self.queues.items()}
        )
        return JSONResponse({"retried": counts})

    async def exposition(self, _: Request) -> Response:
        """GET /pipeline/metrics: the per-stage series in Prometheus text format."""
        body = await run_in_threadpool(generate_latest, self.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _submitter(request: Request) -> str | None:
    """The key id a new item is recorded under (None when auth is off)."""
    key = caller(request.scope)
    return None if key is None else key.id


def _viewer(request: Request) -> str | None:
    """Whose items the caller may see: its own key id, or everyone's (None) for admin or no auth."""
    key = caller(request.scope)
    return None if key is None or key.admin else key.id


def _finished(status: ItemStatus | None) -> Response:
    """200 with the output; the item and why otherwise (422 for input the first stage refused)."""
    if status is None:  # pragma: no cover - the item was just stored
        raise ApiError(500, "lost", "the item vanished")
    if status.state is ItemState.DONE:
        return JSONResponse({"id": status.id, "output": status.output})
    if not status.state.final:
        raise ApiError(
            504,
            "timeout",
            "still running; poll /pipeline/jobs/{id}",
            extra={"item": status.public()},
        )
    invalid = (status.error or "").startswith("invalid input")
    kind, code = ("invalid_input", 422) if invalid else ("failed", 500)
    raise ApiError(
        code, kind, f"stage {status.stage}: {status.error}", extra={"item": status.public()}
    )


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body


def _timeout(value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ApiError(422, "invalid_request", "timeout must be seconds in (0, 3600]")
    return seconds
