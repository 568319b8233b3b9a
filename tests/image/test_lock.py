"""The lock file: round trip, reuse rule, file-name parsing."""

from __future__ import annotations

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
