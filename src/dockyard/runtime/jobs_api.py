"""The Jobs API under /jobs: submit (validated against the model's schema), get, list, cancel.

Inputs are validated on submit, so bad input is refused (422) before it is queued; what is
stored is the validated input dumped back to JSON, which the worker validates again. A
non-finite number (NaN, Infinity, 1e999) is refused too: JSON cannot carry it, so a stored one
would make every later listing of the jobs fail.
With auth on, a job belongs to the key id that submitted it: another key gets 404 for it (as if
it did not exist) and never sees it listed; an `admin` key sees every job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.errors import JobError
from dockyard.runtime.auth import caller
from dockyard.runtime.auth.webhooks import WebhookPolicy
from dockyard.runtime.contract import Signature
from dockyard.runtime.http import Handler, answers_errors
from dockyard.runtime.http import HTTPError as ApiError
from dockyard.runtime.queue import Job, JobQueue, JobState, NewJob, open_queue
from dockyard.spec import Spec

MAX_LIST = 1000
NON_FINITE = {
    "type": "finite_number",
    "loc": [],
    "msg": "a non-finite number (NaN or Infinity); only finite numbers are accepted",
}


def _answers_errors(handler: Handler) -> Handler:
    """HTTPError and the queue's JobError (unknown job: 404, wrong state: 409) become JSON."""

    async def refusing(request: Request) -> Response:
        try:
            return await handler(request)
        except JobError as exc:
            status = 404 if str(exc).startswith("no job") else 409
            raise ApiError(status, "not_found" if status == 404 else "conflict", str(exc)) from exc

    return answers_errors(refusing)


class JobsService:
    """The /jobs routes and the queue connection they share; started by the app's lifespan."""

    def __init__(
        self,
        spec: Spec,
        root: Path,
        signature: Signature,
        registry: CollectorRegistry | None = None,
        *,
        environ: Mapping[str, str],
    ) -> None:
        """`environ`: the process's environment, from its entry point (the queue's Redis login)."""
        self.spec, self.root, self.signature = spec, root, signature
        self.environ = environ
        self.webhooks = WebhookPolicy.from_spec(spec.auth)
        self._queue: JobQueue | None = None
        if registry is not None:
            registry.register(JobsDepth(self))
        self.routes: list[BaseRoute] = [
            Route("/jobs", _answers_errors(self.submit), methods=["POST"]),
            Route("/jobs", _answers_errors(self.list), methods=["GET"]),
            Route("/jobs/stats", _answers_errors(self.stats), methods=["GET"]),
            Route("/jobs/dead/retry", _answers_errors(self.retry_dead), methods=["POST"]),
            Route("/jobs/{job_id}", _answers_errors(self.get), methods=["GET"]),
            Route("/jobs/{job_id}/cancel", _answers_errors(self.cancel), methods=["POST"]),
        ]

    async def startup(self) -> None:
        """Open the queue (creating the SQLite file or connecting to Redis)."""
        self._queue = await run_in_threadpool(open_queue, self.spec.worker, self.root, self.environ)

    async def shutdown(self) -> None:
        """Close the queue connection."""
        if self._queue is not None:
            await run_in_threadpool(self._queue.close)
            self._queue = None

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            raise ApiError(503, "unavailable", "the jobs service is not started")
        return self._queue

    @property
    def started(self) -> bool:
        return self._queue is not None

    async def submit(self, request: Request) -> Response:
        """POST /jobs: `{"input": x}` or `{"inputs": [...]}`, optional key, webhook, batch."""
        body = await _json_object(request)
        key = body.get("idempotency_key") or request.headers.get("idempotency-key")
        owner = _submitter(request)
        if key and owner is not None:
            key = f"{owner}/{key}"  # one caller's key never finds another caller's job
        new = self.new_jobs(body, key, owner)
        jobs = await run_in_threadpool(self.queue.put_many, new)
        if "inputs" in body:
            return JSONResponse({"batch": new[0].batch, "jobs": [j.public() for j in jobs]}, 202)
        return JSONResponse(jobs[0].public(), 202)

    def new_jobs(
        self, body: dict[str, Any], key: str | None, owner: str | None = None
    ) -> list[NewJob]:
        """Validate a submission into the jobs to queue; raises ApiError(422) on any bad input."""
        single = "input" in body
        if single == ("inputs" in body):
            raise ApiError(422, "invalid_request", 'send exactly one of "input" or "inputs"')
        items = [body["input"]] if single else body["inputs"]
        if not isinstance(items, list) or not items:
            raise ApiError(422, "invalid_request", '"inputs" must be a non-empty list')
        webhook = self._webhook(body.get("webhook"))
        batch = None if single else str(body.get("batch") or key or uuid.uuid4().hex)
        keys = [key] if single else [f"{key}:{i}" if key else None for i in range(len(items))]
        inputs = self._validated(items)
        attempts = self.spec.worker.max_attempts
        return [
            NewJob(x, k, webhook, batch, attempts, owner) for x, k in zip(inputs, keys, strict=True)
        ]

    def _webhook(self, url: object) -> str | None:
        if url is None:
            return None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(422, "invalid_request", '"webhook" must be an http(s) URL')
        refused = self.webhooks.refusal(url)
        if refused:
            raise ApiError(422, "webhook_not_allowed", refused)
        return url

    def _validated(self, items: list[Any]) -> list[Any]:
        adapter, problems, out = self.signature.inputs, [], []
        for i, item in enumerate(items):
            try:
                dumped = adapter.dump_python(adapter.validate_python(item), mode="json")
            except ValidationError as exc:
                problems.append(
                    {"index": i, "errors": exc.errors(include_url=False, include_context=False)}
                )
                continue
            if not _finite(dumped):
                problems.append({"index": i, "errors": [NON_FINITE]})
            out.append(dumped)
        if problems:
            raise ApiError(
                422,
                "invalid_input",
                f"{len(problems)} input(s) do not match the model's schema",
                details=problems,
            )
        return out

    async def get(self, request: Request) -> Response:
        """GET /jobs/{id}: status, and the result or last error."""
        job = await self._own(request)
        return JSONResponse(job.public())

    async def _own(self, request: Request) -> Job:
        """The job named in the path, if the caller may see it; else 404 (never 403: no oracle)."""
        job_id = request.path_params["job_id"]
        job = await run_in_threadpool(self.queue.get, job_id)
        viewer = _viewer(request)
        if job is None or (viewer is not None and job.owner != viewer):
            raise ApiError(404, "not_found", f"no job {job_id!r}")
        return job

    async def list(self, request: Request) -> Response:
        """GET /jobs?state=&batch=&limit=&after=: oldest first, `next` is the cursor."""
        q = request.query_params
        state = _state(q.get("state"))
        limit = _limit(q.get("limit", "100"))
        jobs = await run_in_threadpool(
            self.queue.list, state, q.get("batch"), limit, q.get("after"), _viewer(request)
        )
        cursor = jobs[-1].id if len(jobs) == limit else None
        return JSONResponse({"jobs": [j.public() for j in jobs], "next": cursor})

    async def cancel(self, request: Request) -> Response:
        """POST /jobs/{id}/cancel: a queued or running job ends cancelled, its result discarded."""
        own = await self._own(request)
        job = await run_in_threadpool(self.queue.cancel, own.id)
        return JSONResponse(job.public())

    async def retry_dead(self, request: Request) -> Response:
        """POST /jobs/dead/retry: requeue dead-lettered jobs (`{"ids": [...]}` or all)."""
        body = await _json_object(request) if await request.body() else {}
        ids = body.get("ids")
        count = await run_in_threadpool(self.queue.retry_dead, ids)
        return JSONResponse({"retried": count})

    async def stats(self, _: Request) -> Response:
        """GET /jobs/stats: counts per state, oldest queued job, webhooks pending."""
        stats = await run_in_threadpool(self.queue.stats)
        return JSONResponse({
            "counts": {s.value: stats.count(s) for s in JobState},
            "oldest_queued_at": stats.oldest_queued_at,
            "webhooks_pending": stats.webhooks_pending,
        })  # fmt: skip


class JobsDepth(Collector):
    """`dockyard_jobs{state}` from the API too, read from the queue's stats when scraped.

    The workers export the same gauge, but an autoscaler that scaled them to zero would then see
    no queue at all; the API is always up, so the queue stays visible (queries take the `max`).
    """

    def __init__(self, jobs: JobsService) -> None:
        self.jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("dockyard_jobs", "Jobs in the queue per state", labels=["state"])
        if self.jobs.started:
            stats = self.jobs.queue.stats()
            for state in JobState:
                family.add_metric([state.value], stats.count(state))
        yield family


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body


def _finite(value: Any) -> bool:
    """Whether the value is strict JSON (no NaN or Infinity anywhere in it)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _submitter(request: Request) -> str | None:
    """The key id a new job is recorded under (None when auth is off)."""
    key = caller(request.scope)
    return None if key is None else key.id


def _viewer(request: Request) -> str | None:
    """Whose jobs the caller may see: its own key id, or everyone's (None) for admin or no auth."""
    key = caller(request.scope)
    return None if key is None or key.admin else key.id


def _state(value: str | None) -> JobState | None:
    try:
        return JobState(value) if value else None
    except ValueError:
        names = ", ".join(s.value for s in JobState)
        raise ApiError(422, "invalid_request", f"state must be one of {names}") from None


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIST:
        raise ApiError(422, "invalid_request", f"limit must be 1..{MAX_LIST}")
    return int(value)
