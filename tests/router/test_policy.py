"""The pure parts: balancing, sticky hashing, the routing table and weight validation."""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path

import pytest

from dockyard.runtime.router.policy import Draw, RoundRobin, sticky
from dockyard.runtime.router.table import RoutingTable
from dockyard.runtime.router.weights import WeightsError, WeightsFile, parse_weights


def test_round_robin_is_exact_and_interleaved() -> None:
    picker = RoundRobin({"a": 9, "b": 1})
    picks = [picker.pick() for _ in range(1000)]
    assert collections.Counter(picks) == {"a": 900, "b": 100}
    # every window of ten holds exactly one canary request: no bursts
    assert all(picks[i : i + 10].count("b") == 1 for i in range(0, 1000, 10))


def test_round_robin_handles_fractional_weights() -> None:
    picker = RoundRobin({"a": 0.5, "b": 0.25, "c": 0.25})
    assert collections.Counter(picker.pick() for _ in range(400)) == {"a": 200, "b": 100, "c": 100}


def test_seeded_draws_are_reproducible() -> None:
    first = Draw({"a": 1, "b": 1}, random.Random(3))
    second = Draw({"a": 1, "b": 1}, random.Random(3))
    assert [first.pick() for _ in range(50)] == [second.pick() for _ in range(50)]


def test_sticky_keys_spread_by_weight_and_move_only_when_their_version_leaves() -> None:
    weights = {"a": 70.0, "b": 20.0, "c": 10.0}
    owners = {f"user-{i}": sticky(f"user-{i}", weights) for i in range(5000)}
    shares = collections.Counter(owners.values())
    for name, weight in weights.items():
        assert abs(shares[name] / 5000 - weight / 100) < 0.02, shares
    without_c = {"a": 70.0, "b": 20.0}
    moved = [k for k, v in owners.items() if sticky(k, without_c) != v]
    assert all(owners[k] == "c" for k in moved)  # only c's keys moved


def test_table_serves_only_versions_that_are_up_and_weighted() -> None:
    table = RoutingTable({"a": 1, "b": 1, "c": 0})
    assert table.choose() is None  # nothing has passed a readiness probe yet
    for name in ("a", "b", "c"):
        assert table.mark(name, True)
    assert not table.mark("a", True)  # unchanged
    assert table.rotation == {"a": 1, "b": 1}
    table.mark("b", False)
    assert {table.choose() for _ in range(10)} == {"a"}
    assert table.choose("any-key") == "a"
    table.set_weights({"c": 5})
    assert table.weights == {"a": 1, "b": 1, "c": 5}
    assert table.rotation == {"a": 1, "c": 5}


def test_parse_weights_reports_every_problem() -> None:
    with pytest.raises(WeightsError) as caught:
        parse_weights({"a": -1, "zz": 2, "b": "x"}, {"a", "b"}, {"a": 1, "b": 1})
    message = str(caught.value)
    assert "a: weight -1" in message and "'zz'" in message and "b: weight 'x'" in message


def test_parse_weights_judges_the_table_after_the_update() -> None:
    assert parse_weights({"a": 0}, {"a", "b"}, {"a": 1, "b": 1}) == {"a": 0.0}
    with pytest.raises(WeightsError, match="above 0"):
        parse_weights({"a": 0}, {"a", "b"}, {"a": 1, "b": 0})


def test_weights_file_reports_changes_once(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    watched = WeightsFile(path)
    assert watched.changed() is None  # absent: unchanged
    path.write_text(json.dumps({"a": 1}))
    assert watched.changed() == {"a": 1}
    assert watched.changed() is None
    path.write_text("{bad json!")
    with pytest.raises(WeightsError):
        watched.changed()
