"""The lock file: round trip, reuse rule, file-name parsing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.image.lock import (
    LOCK_FILE,
    Lock,
    LockInputs,
    entry_for,
    is_current,
    parse_lock,
    render_lock,
    why_stale,
)
from dockyard.image.resolve import read_lock

INPUTS = LockInputs(
    ("numpy",), ("pydantic>=2.6",), ("pydantic==2.13.4",), "3.11", ("manylinux2014_x86_64",)
)


def _lock() -> Lock:
    return Lock(
        INPUTS.digest(),
        "3.11",
        (
            entry_for("numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", "a" * 64),
            entry_for("tiny_pkg-1.0.tar.gz", "b" * 64),
        ),
        base="python:3.11-slim-bookworm@sha256:" + "c" * 64,
    )


def test_round_trip_keeps_entries_and_base() -> None:
    lock = _lock()
    parsed = parse_lock(render_lock(lock))
    assert parsed.entries == tuple(sorted(lock.entries, key=lambda e: e.name))
    assert parsed.base == lock.base and parsed.inputs_sha256 == lock.inputs_sha256


def test_names_and_sdists() -> None:
    lock = _lock()
    assert lock.pins == ("numpy==2.4.6", "tiny-pkg==1.0")
    assert [e.is_sdist for e in lock.entries] == [False, True]


def test_reused_only_while_inputs_unchanged() -> None:
    lock = _lock()
    assert is_current(lock, INPUTS)
    other = LockInputs(
        ("numpy<2",), INPUTS.runtime, INPUTS.constraints, INPUTS.python, INPUTS.platforms
    )
    assert not is_current(lock, other)
    assert not is_current(None, INPUTS)


def test_rejects_foreign_files() -> None:
    with pytest.raises(ValueError):
        parse_lock("numpy==2.0\n")


def test_a_foreign_lock_file_is_an_error_naming_it_and_the_fix(tmp_path: Path) -> None:
    """build, push, sbom and save all read the lock through `read_lock`."""
    (tmp_path / LOCK_FILE).write_text("numpy==2.0\n")
    with pytest.raises(BuildError) as raised:
        read_lock(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / LOCK_FILE) in message and "no inputs-sha256 header" in message
    assert "delete it to resolve again" in message


def test_the_lock_records_the_local_versions_and_says_why_it_is_stale() -> None:
    """A committed lock resolved again on another machine says why (its diff alone does not)."""
    lock = replace(_lock(), host=("uvicorn==0.54.0", "httpx==0.28.1"))
    assert parse_lock(render_lock(lock)).host == ("httpx==0.28.1", "uvicorn==0.54.0")
    moved = replace(INPUTS, constraints=("httpx==0.28.1", "uvicorn==0.55.0"))
    assert why_stale(lock, moved) == "this machine runs uvicorn 0.55.0 (locked with 0.54.0)"
    same = replace(INPUTS, constraints=lock.host)
    assert "dependencies or build settings changed" in why_stale(lock, same)
    assert "Python 3.11, the project asks for 3.12" in why_stale(lock, replace(same, python="3.12"))
    assert "runtime packages" in why_stale(replace(lock, host=()), moved)  # an older lock
