"""A Dockerfile's build context on disk: the secret files `.dockerignore` lets through.

Read only when the Dockerfile is checked from a path (its folder is taken as the context, as
`docker build DIR` does). `.dockerignore` is applied with the Docker SDK's own matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import exclude_paths

from dockyard.detect.secrets import SECRET_FILE
from dockyard.doctor.parse.dockerfile import Dockerfile

_NEEDS_KEY = (".pem", ".key")  # by name only when a private key is inside


@dataclass(frozen=True)
class BuildContext:
    """The Dockerfile and the context-relative paths of secret files sent with it."""

    dockerfile: Dockerfile
    secret_files: tuple[str, ...]


def ignore_patterns(root: Path) -> list[str]:
    """The `.dockerignore` patterns of `root` (comments and blank lines dropped)."""
    path = root / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_context(dockerfile: Dockerfile, root: Path) -> BuildContext:
    """The secret files under `root` that a build would send to the engine."""
    sent = exclude_paths(str(root), ignore_patterns(root))
    found = sorted(p.replace("\\", "/") for p in sent if _is_secret(root, p))
    return BuildContext(dockerfile, tuple(found))


def _is_secret(root: Path, relative: str) -> bool:
    path = root / relative
    if not path.is_file() or not SECRET_FILE.search("/" + relative.replace("\\", "/")):
        return False
    if not relative.endswith(_NEEDS_KEY):
        return True
    try:
        return "PRIVATE KEY" in path.read_text(errors="replace")[:65536]
    except OSError:
        return False
