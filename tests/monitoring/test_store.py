"""The prediction store contract, run against every back end (Redis: a real redis-server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.runtime.monitor.store import PredictionStore, Stored, open_store
from tests.jobs.conftest import RedisServer, redis_server  # noqa: F401 (a fixture)

BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
RETENTION = 100.0


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PredictionStore]:
    kind = request.param
    where = str(tmp_path / "p.sqlite")
    if kind == "redis":
        where = request.getfixturevalue("redis_server").url
    made = open_store(kind, where, RETENTION, 5, namespace=uuid.uuid4().hex)
    yield made
    made.close()


def rows(*ids: str, at: float = 1000.0, version: str = "1") -> list[Stored]:
    return [Stored(i, version, f'{{"n": "{i}"}}', at + n) for n, i in enumerate(ids)]


def test_a_label_joins_its_prediction(store: PredictionStore) -> None:
    store.add(rows("a/0", "a/1"))
    joined = store.label("a/1", '"yes"', 1050.0)
    assert joined is not None
    assert (joined.id, joined.output, joined.truth, joined.labelled) == (
        "a/1", '{"n": "a/1"}', '"yes"', 1050.0,
    )  # fmt: skip
    assert [r.id for r in store.labelled("1", 10)] == ["a/1"]
    assert store.label("b/0", '"no"', 1050.0) is None


def test_recent_is_newest_first_and_per_version(store: PredictionStore) -> None:
    store.add(rows("a/0", "b/0", "c/0"))
    store.add(rows("z/0", version="2"))
    assert [r.id for r in store.recent("1", 2)] == ["c/0", "b/0"]
    assert store.versions() == ["1", "2"]


def test_expired_predictions_cannot_be_labelled_and_are_pruned(store: PredictionStore) -> None:
    store.add(rows("old/0", at=0.0))
    store.add(rows("new/0", at=500.0))
    assert store.label("old/0", "1", 500.0) is None  # past the 100 s retention
    store.prune(500.0)
    assert [r.id for r in store.recent("1", 10)] == ["new/0"]


def test_the_store_is_bounded(store: PredictionStore) -> None:
    store.add(rows(*(f"r{i}/0" for i in range(8))))
    store.prune(1000.0)
    assert [r.id for r in store.recent("1", 10)] == ["r7/0", "r6/0", "r5/0", "r4/0", "r3/0"]
