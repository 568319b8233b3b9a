"""Regression tests for bugs a review found in the API runtime (issue 18), in-process."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.runtime.app import create_app
from dockyard.runtime.contract import Model, signature_of
from dockyard.runtime.runner import ModelRunner
from dockyard.spec import load_spec
from tests.fixtures.projects import make_project


@contextlib.contextmanager
def _client(root: Path) -> Iterator[TestClient]:
    """The app in-process, started (lifespan) and ready; its model module forgotten after."""
    try:
        with TestClient(
            create_app(load_spec(root), root, access_log=False, environ=os.environ)
        ) as client:
            deadline = time.monotonic() + 10
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, client.get("/readyz").text
                time.sleep(0.01)
            yield client
    finally:
        # The loader imports the project's module by name: leave no cached `echo` behind
        # for a later test that writes a different echo.py.
        sys.modules.pop("echo", None)


def _requests(exposition: str, route: str) -> float:
    prefix = f'dockyard_requests_total{{method="GET",route="{route}",status="200"}}'
    return sum(
        float(line.split()[-1]) for line in exposition.splitlines() if line.startswith(prefix)
    )


def test_route_label_is_the_matched_template_not_a_string_replacement(tmp_path: Path) -> None:
    # The model's version "v2" is also the path's first segment: replacing "/v2" by
    # "/{version}" once mislabels the route as "/{version}/models/echo/versions/v2".
    root = make_project(tmp_path, "echo")
    spec = root / "dockyard.toml"
    spec.write_text(spec.read_text().replace("[model]\n", '[model]\nversion = "v2"\n'))
    with _client(root) as client:
        assert client.get("/v2/models/echo/versions/v2").status_code == 200
        exposition = client.get("/metrics").text
    assert _requests(exposition, "/v2/models/echo/versions/{version}") == 1, exposition


@pytest.mark.parametrize("length", ["abc", "-1", "999999"])
def test_bad_binary_header_length_is_not_reported_as_invalid_json(
    tmp_path: Path, length: str
) -> None:
    root = make_project(tmp_path, "echo")
    body = b'{"inputs": []}'
    with _client(root) as client:
        response = client.post(
            "/v2/models/echo/infer",
            content=body,
            headers={"Inference-Header-Content-Length": length},
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_header", error
    assert "Inference-Header-Content-Length" in error["message"]


class _OutOfMemory(Model[int, int]):
    """Every batch fails for the same reason, like a model out of memory."""

    calls = 0

    def predict(self, batch: list[int]) -> list[int]:
        type(self).calls += 1
        raise MemoryError("CUDA out of memory")


class _RejectsSeven(Model[int, int]):
    """Only the input 7 makes the batch fail."""

    calls = 0

    def predict(self, batch: list[int]) -> list[int]:
        type(self).calls += 1
        if 7 in batch:
            raise ValueError("seven is not allowed")
        return batch


def _run(cls: type[Model[Any, Any]], items: list[int]) -> list[str | int]:
    cls.calls = 0  # type: ignore[attr-defined]  # counted per run, so a rerun counts afresh
    runner = ModelRunner(cls(), signature_of(cls), inline=False)
    try:
        outcomes = runner.run_sync(items)
    finally:
        runner.close()
    return [str(o.error) if o.error else o.value for o in outcomes]


def test_a_batch_failing_as_a_whole_is_not_split_down_to_single_inputs() -> None:
    results = _run(_OutOfMemory, list(range(64)))
    assert results == ["MemoryError: CUDA out of memory"] * 64
    assert _OutOfMemory.calls == 3  # the batch, then its two halves (was 127: every sub-batch)


class _RejectsNegatives(Model[int, int]):
    """Input errors with one constant message, whichever input caused them."""

    def predict(self, batch: list[int]) -> list[int]:
        if any(x < 0 for x in batch):
            raise ValueError("negative input")
        return batch


def test_bad_inputs_with_one_message_in_both_halves_do_not_fail_the_good_ones() -> None:
    results = _run(_RejectsNegatives, [1, -2, 3, 4, 5, -6, 7, 8])
    bad = "ValueError: negative input"
    assert results == [1, bad, 3, 4, 5, bad, 7, 8]


def test_one_bad_input_is_still_isolated() -> None:
    results = _run(_RejectsSeven, list(range(16)))
    assert results == [*range(7), "ValueError: seven is not allowed", *range(8, 16)]
    assert _RejectsSeven.calls == 9  # 1 + 2 per level, log2(16) levels
