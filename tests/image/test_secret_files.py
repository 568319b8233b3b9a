"""Plaintext secret copies: 0600 for the image's user, outside the project, never in a context."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from dockyard.errors import SpecError
from dockyard.image.context import app_files
from dockyard.image.plan import BuildPlan
from dockyard.image.secrets import find_secrets, private_dir, remove_secrets, write_secrets
from dockyard.spec import Spec


def test_copies_are_0600_for_the_images_user_in_a_private_dir(linear_spec: Spec) -> None:
    directory = private_dir()
    try:
        [path] = write_secrets({"api_token": b"tok"}, directory, linear_spec.build.uid).values()
        assert directory.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        if os.geteuid() == 0:
            assert path.stat().st_uid == linear_spec.build.uid
    finally:
        remove_secrets(directory)
    assert not directory.exists()


def test_sources_in_order_flag_env_file(linear_spec: Spec, linear_dir: Path) -> None:
    local = linear_dir / ".dockyard" / "secrets" / "api_token"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"from-file")
    assert find_secrets(linear_spec, linear_dir, [], {}) == {"api_token": b"from-file"}
    env = {"DOCKYARD_SECRET_API_TOKEN": "from-env"}
    assert find_secrets(linear_spec, linear_dir, [], env) == {"api_token": b"from-env"}
    flag = linear_dir / "flag.txt"
    flag.write_bytes(b"from-flag")
    given = [f"api_token={flag}"]
    assert find_secrets(linear_spec, linear_dir, given, env) == {"api_token": b"from-flag"}
    with pytest.raises(SpecError, match="NAME=FILE"):
        find_secrets(linear_spec, linear_dir, ["api_token"], {})


def test_a_stacks_staged_copies_never_enter_the_build_context(
    linear_plan: BuildPlan, linear_dir: Path
) -> None:
    write_secrets({"api_token": b"tok"}, linear_dir / ".dockyard" / "run-secrets", 10001)
    files = app_files(linear_plan, linear_dir)
    assert files.files and not [f for f in files.files if f.startswith(".dockyard")]
