"""The peak memory `dockyard predict` reports is the block's own, not an earlier or a parent's."""

from __future__ import annotations

import mmap
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.image.rss import PeakRss

from .conftest import FIXTURES

MIB = 2**20


def resident(size: int) -> mmap.mmap:
    """`size` bytes of fresh pages, every one written: resident, whatever the heap holds free."""
    block = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        block[offset] = 1
    return block


def test_an_earlier_higher_peak_does_not_hide_a_block() -> None:
    resident(300 * MIB).close()
    with PeakRss() as rss:
        resident(40 * MIB).close()
    assert rss.exact and 35 * MIB <= rss.delta < 80 * MIB, rss.delta / MIB


@pytest.mark.slow  # a `dockyard predict` process
def test_predict_from_a_large_parent_reports_the_models_memory(tmp_path: Path) -> None:
    """A test runner or notebook that started `dockyard predict` once held 600 MiB: the child's
    kernel peak starts there after exec, which the report used to print as the model's."""
    root = tmp_path / "linear"
    shutil.copytree(FIXTURES / "linear", root)
    ballast = bytearray(600 * MIB)
    command = [sys.executable, "-m", "dockyard.cli.main", "predict", str(root), "-i", "[1, 2, 3]"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    del ballast
    assert done.returncode == 0, done.stderr
    match = re.search(r"peak memory (\d+) MiB", done.stderr)
    assert match and int(match.group(1)) < 150, done.stderr
