"""The API exports the jobs queue's depth too, so an autoscaler can take workers to zero (#15)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dockyard.runtime.contract import signature_of
from dockyard.runtime.jobs_api import JobsService
from tests.jobs.models.poison import Poison
from tests.jobs.test_jobs_api import job_spec


def test_the_api_reports_queued_jobs_with_no_worker_running(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    service = JobsService(job_spec(tmp_path), tmp_path, signature_of(Poison), registry, environ={})
    assert b"dockyard_jobs{" not in generate_latest(registry)  # not started: no queue to read

    @asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        await service.startup()
        yield
        await service.shutdown()

    with TestClient(Starlette(routes=service.routes, lifespan=lifespan)) as client:
        assert client.post("/jobs", json={"inputs": [1, 2, 3]}).status_code == 202
        text = generate_latest(registry).decode()
    assert 'dockyard_jobs{state="queued"} 3.0' in text
    assert 'dockyard_jobs{state="done"} 0.0' in text
