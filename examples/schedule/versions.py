"""Model versions on the artifact directory: `<dir>/<version>/model.joblib` and `<dir>/current`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dockyard.runtime.loader import artifact_paths
from dockyard.spec import load_spec, runs_in_container

KEEP = 3


def models_dir() -> Path:
    """Where the `digits` artifact lives here: the project's models/ or the container's mount."""
    root = Path(__file__).resolve().parent
    inside = runs_in_container(os.environ)  # a scheduled run in the image, or the project here
    return artifact_paths(load_spec(root, inside), root, inside)["digits"]


def current(directory: Path) -> str:
    return (directory / "current").read_text().strip()


def publish(directory: Path, version: str) -> None:
    """Point `current` at `version` atomically (write, then rename), then drop old versions."""
    tmp = directory / f".current.{os.getpid()}"
    tmp.write_text(version + "\n")
    tmp.replace(directory / "current")
    versions = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in versions[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
