"""The /jobs routes on a real queue: validation before queueing, idempotency, list, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dockyard.runtime.contract import signature_of
from dockyard.runtime.jobs_api import JobsService
from dockyard.runtime.queue import JobState, open_queue
from dockyard.spec import Spec
from tests.jobs.models.poison import Poison


def job_spec(tmp_path: Path, **worker: Any) -> Spec:
    return Spec.model_validate({
        "project": {"name": "jobs-test"},
        "model": {"entrypoint": "poison:Poison"},
        "worker": {"enabled": True, "sqlite_path": str(tmp_path / "jobs.sqlite3"), **worker},
    })  # fmt: skip


def jobs_app(spec: Spec, root: Path) -> Starlette:
    service = JobsService(spec, root, signature_of(Poison), environ={})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        await service.startup()
        yield
        await service.shutdown()

    return Starlette(routes=service.routes, lifespan=lifespan)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def spec(request: pytest.FixtureRequest, tmp_path: Path) -> Spec:
    if request.param == "redis":
        url = request.getfixturevalue("redis_server").url
        return job_spec(tmp_path, backend="redis", redis_url=url, namespace=tmp_path.name)
    return job_spec(tmp_path)


@pytest.fixture
def client(spec: Spec, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(jobs_app(spec, tmp_path)) as client:
        yield client


def test_submit_then_get(client: TestClient) -> None:
    created = client.post("/jobs", json={"input": 21})
    assert created.status_code == 202
    job = client.get(f"/jobs/{created.json()['id']}").json()
    assert (job["state"], job["input"], job["result"]) == ("queued", 21, None)
    assert "lease_token" not in job


def test_bad_input_is_refused_before_it_is_queued(client: TestClient) -> None:
    refused = client.post("/jobs", json={"inputs": [1, "two", 3, {"x": 1}]})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["type"] == "invalid_input"
    assert [d["index"] for d in error["details"]] == [1, 3]
    assert client.get("/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    "body",
    [{}, {"input": 1, "inputs": [1]}, {"inputs": []}, {"input": 1, "webhook": "ftp://x"}, [1]],
)
def test_malformed_submissions_are_422(client: TestClient, body: Any) -> None:
    response = client.post("/jobs", json=body)
    assert response.status_code == 422
    assert set(response.json()["error"]) >= {"type", "message"}


def test_idempotent_resubmit_returns_the_same_job(client: TestClient) -> None:
    first = client.post("/jobs", json={"input": 1}, headers={"Idempotency-Key": "abc"}).json()
    again = client.post("/jobs", json={"input": 1, "idempotency_key": "abc"}).json()
    assert again["id"] == first["id"]
    batch = client.post("/jobs", json={"inputs": [1, 2], "idempotency_key": "b"}).json()
    rebatch = client.post("/jobs", json={"inputs": [1, 2], "idempotency_key": "b"}).json()
    assert [j["id"] for j in rebatch["jobs"]] == [j["id"] for j in batch["jobs"]]
    assert len(client.get("/jobs").json()["jobs"]) == 3


def test_list_filters_by_batch_and_state_and_pages(client: TestClient) -> None:
    batch = client.post("/jobs", json={"inputs": list(range(5)), "batch": "nightly"}).json()
    client.post("/jobs", json={"input": 99})
    client.post(f"/jobs/{batch['jobs'][0]['id']}/cancel")
    listed = client.get("/jobs", params={"batch": "nightly", "state": "queued"}).json()
    assert [j["input"] for j in listed["jobs"]] == [1, 2, 3, 4]
    page = client.get("/jobs", params={"limit": 4}).json()
    rest = client.get("/jobs", params={"after": page["next"]}).json()
    assert len(page["jobs"]) + len(rest["jobs"]) == 6 and rest["next"] is None
    assert client.get("/jobs", params={"state": "nope"}).status_code == 422


def test_cancel_and_errors(client: TestClient) -> None:
    job = client.post("/jobs", json={"input": 1}).json()
    assert client.post(f"/jobs/{job['id']}/cancel").json()["state"] == "cancelled"
    again = client.post(f"/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["type"] == "conflict"
    assert client.get("/jobs/missing").status_code == 404
    assert client.post("/jobs", content=b"{nope").status_code == 400


def test_stats_and_retry_dead(client: TestClient, spec: Spec, tmp_path: Path) -> None:
    job = client.post("/jobs", json={"input": -1}).json()
    queue = open_queue(spec.worker, tmp_path)
    (claim,) = queue.claim(1, 10, "w")
    queue.dead_letter(claim, "negative input")
    assert client.get("/jobs/stats").json()["counts"]["dead"] == 1
    assert client.post("/jobs/dead/retry", json={"ids": [job["id"]]}).json() == {"retried": 1}
    assert queue.get(job["id"]).state is JobState.QUEUED  # type: ignore[union-attr]
    queue.close()
