"""Jobs belong to their submitter: another key can't read, list or cancel them; admin can."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dockyard.runtime.queue import JobQueue, MemoryQueue, NewJob
from dockyard.runtime.queue.sqlite import SqliteQueue
from tests.jobs.conftest import RedisServer
from tests.security.conftest import Keys, bearer


def submit(client: TestClient, key: str, text: str, **extra: object) -> dict[str, object]:
    response = client.post("/jobs", json={"input": text, **extra}, headers=bearer(key))
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


def listed(client: TestClient, key: str, **params: str) -> list[str]:
    response = client.get("/jobs", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["jobs"]]


def test_two_keys_cannot_see_each_others_jobs_and_admin_sees_all(
    api: TestClient, keys: Keys
) -> None:
    client = api
    a = [submit(client, keys.alice, f"a{i}")["id"] for i in range(3)]
    b = [submit(client, keys.bob, f"b{i}")["id"] for i in range(2)]
    admin = keys.by_scope["admin"]

    assert listed(client, keys.alice) == a
    assert listed(client, keys.bob) == b
    assert listed(client, admin) == sorted(a + b)
    # paging through someone else's ids with a cursor shows nothing of theirs either
    assert listed(client, keys.bob, after="0", limit="1") == b[:1]
    assert listed(client, keys.bob, batch="x") == []

    for method, path in (("GET", f"/jobs/{a[0]}"), ("POST", f"/jobs/{a[0]}/cancel")):
        other = client.request(method, path, headers=bearer(keys.bob))
        assert other.status_code == 404, other.text  # as if it did not exist: no oracle
        assert other.json()["error"]["type"] == "not_found"
    assert client.get(f"/jobs/{a[0]}", headers=bearer(keys.alice)).json()["state"] == "queued"

    owned = client.get(f"/jobs/{a[1]}", headers=bearer(keys.alice)).json()
    assert owned["owner"] == "alice"
    assert client.get(f"/jobs/{b[0]}", headers=bearer(admin)).json()["owner"] == "bob"
    cancelled = client.post(f"/jobs/{b[1]}/cancel", headers=bearer(admin))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    mine = client.post(f"/jobs/{a[2]}/cancel", headers=bearer(keys.alice))
    assert mine.status_code == 200 and mine.json()["state"] == "cancelled"


def test_an_idempotency_key_never_returns_another_callers_job(api: TestClient, keys: Keys) -> None:
    client = api
    first = submit(client, keys.alice, "secret input", idempotency_key="k1")
    again = submit(client, keys.alice, "ignored", idempotency_key="k1")
    theirs = submit(client, keys.bob, "bob's", idempotency_key="k1")
    assert again["id"] == first["id"]
    assert theirs["id"] != first["id"] and theirs["input"] == "bob's"


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobQueue]:
    if request.param == "memory":
        yield MemoryQueue()
        return
    if request.param == "sqlite":
        made: JobQueue = SqliteQueue(tmp_path / "jobs.sqlite3")
    else:
        from dockyard.runtime.queue.redis import RedisQueue

        server = RedisServer(tmp_path)
        server.start()
        request.addfinalizer(server.stop)
        made = RedisQueue(server.url, namespace=f"owners-{tmp_path.name}")
    yield made
    made.close()


def test_every_back_end_lists_by_owner(queue: JobQueue) -> None:
    jobs = queue.put_many(
        [NewJob(i, owner="alice" if i % 2 else "bob", batch="b") for i in range(10)]
    )
    alice = [j.id for j in jobs if j.owner == "alice"]
    assert [j.id for j in queue.list(owner="alice")] == alice
    assert [j.id for j in queue.list(owner="alice", limit=2)] == alice[:2]
    assert [j.id for j in queue.list(owner="alice", after=alice[1])] == alice[2:]
    assert [j.id for j in queue.list(owner="bob", batch="b")] == [
        j.id for j in jobs if j.owner == "bob"
    ]
    assert queue.list(owner="carol") == []
    assert len(queue.list()) == 10
    stored = queue.get(alice[0])
    assert stored is not None and stored.owner == "alice"
