"""Pipeline items belong to their submitter, as jobs do: another key gets 404, admin sees all."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server
from tests.security.conftest import Keys, bearer

pytestmark = pytest.mark.slow  # a real server process


def submit(client: httpx.Client, key: str, text: str, **extra: object) -> str:
    response = client.post("/pipeline/jobs", json={"input": text, **extra}, headers=bearer(key))
    assert response.status_code == 202, response.text
    item: str = response.json()["id"]
    return item


def test_two_keys_cannot_read_each_others_pipeline_items_and_admin_can(
    service: Server, keys: Keys
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        mine = submit(client, keys.alice, "alice's secret")
        theirs = submit(client, keys.bob, "bob's secret")

        other = client.get(f"/pipeline/jobs/{mine}", headers=bearer(keys.bob))
        assert other.status_code == 404, other.text  # as if it did not exist: no oracle
        assert other.json()["error"]["type"] == "not_found"
        assert "alice" not in other.text
        assert client.get(f"/pipeline/jobs/{theirs}", headers=bearer(keys.alice)).status_code == 404

        own = client.get(f"/pipeline/jobs/{mine}", headers=bearer(keys.alice))
        assert own.status_code == 200 and own.json()["id"] == mine
        admin = bearer(keys.by_scope["admin"])
        assert client.get(f"/pipeline/jobs/{mine}", headers=admin).status_code == 200
        assert client.get(f"/pipeline/jobs/{theirs}", headers=admin).status_code == 200


def test_a_pipeline_idempotency_key_never_returns_another_callers_item(
    service: Server, keys: Keys
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        first = submit(client, keys.alice, "alice", idempotency_key="same")
        again = submit(client, keys.alice, "ignored", idempotency_key="same")
        theirs = submit(client, keys.bob, "bob", idempotency_key="same")
    assert again == first
    assert theirs != first
