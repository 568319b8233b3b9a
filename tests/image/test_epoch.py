"""The source epoch: the time an image carries comes from the source (the last commit, or
SOURCE_DATE_EPOCH passed in), never from the build's clock."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockyard.image.builder import overrides, source_epoch
from dockyard.spec import Spec


def _commit(root: Path, date: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=root, env=env, check=True, capture_output=True,
        )  # fmt: skip


def test_the_epoch_is_the_last_commit_s_time(linear_dir: Path) -> None:
    _commit(linear_dir, "2026-03-04T05:06:07Z")
    assert source_epoch(linear_dir) == 1_772_600_767


def test_outside_git_the_epoch_is_zero(tmp_path: Path) -> None:
    assert source_epoch(tmp_path) == 0


def test_labels_carry_the_epoch_and_no_local_path(linear_spec: Spec, linear_dir: Path) -> None:
    found = overrides(linear_spec, linear_dir, None, None, None, epoch=1_772_600_767)
    assert found.created == "2026-03-04T05:06:07Z"
    assert found.source == ""  # no remote: a local path would differ per clone
    pinned = overrides(linear_spec, linear_dir, None, None, None, "2020-01-01T00:00:00Z", 5)
    assert pinned.created == "2020-01-01T00:00:00Z"  # DOCKYARD_CREATED still wins
