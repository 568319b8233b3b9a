"""The spec's secrets as files for a container: where their values come from, where they go.

Values come from `--secret NAME=FILE`, then `DOCKYARD_SECRET_NAME`, then
`.dockyard/secrets/NAME`. Plaintext copies are written 0600 (owned by the image's user) into a
private directory outside the project, so no build context ever holds them, and are deleted as
soon as nothing needs them: a started container keeps its bind-mounted copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dockyard.errors import SpecError, SpecProblem
from dockyard.spec import Spec

WORK = ".dockyard"
PLACEHOLDER = b"dockyard-test-placeholder"
_HOW = "a value: --secret NAME=FILE, DOCKYARD_SECRET_NAME or .dockyard/secrets/NAME"


def secret_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The `DOCKYARD_SECRET_*` variables of an environment; the CLI reads them at its edge."""
    return {k: v for k, v in environ.items() if k.startswith("DOCKYARD_SECRET_")}


def find_secrets(
    spec: Spec, root: Path, given: list[str], environ: Mapping[str, str]
) -> dict[str, bytes]:
    """The value of each declared secret that was supplied; missing ones are left out."""
    sources = dict(_flag(item) for item in given)
    found = {}
    for name in spec.secrets:
        value = _value(name, sources, environ, root)
        if value is not None:
            found[name] = value
    return found


def require_all(spec: Spec, found: Mapping[str, bytes], command: str) -> None:
    """Refuse to start when a declared secret has no value, naming every missing one."""
    missing = [name for name in spec.secrets if name not in found]
    if missing:
        raise SpecError([SpecProblem(f"({command})", "secrets", ", ".join(missing), _HOW)])


def with_placeholders(spec: Spec, found: Mapping[str, bytes]) -> dict[str, bytes]:
    """Every declared secret, a fixed placeholder for those not supplied (the gate's choice)."""
    return {name: found.get(name, PLACEHOLDER) for name in spec.secrets}


def private_dir() -> Path:
    """A fresh 0700 directory outside every project, for one run's plaintext copies."""
    return Path(tempfile.mkdtemp(prefix="dockyard-secrets-"))


def write_secrets(values: Mapping[str, bytes], directory: Path, uid: int) -> dict[str, Path]:
    """Write each value as a 0600 file only the image's user (`uid`) can read."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    return {name: _write(directory / name, data, uid) for name, data in values.items()}


def remove_secrets(directory: Path) -> None:
    """Delete the plaintext copies (a started container keeps its mounted ones)."""
    shutil.rmtree(directory, ignore_errors=True)


def _flag(item: str) -> tuple[str, str]:
    name, sep, path = item.partition("=")
    if not sep or not name or not path:
        raise SpecError([SpecProblem("(--secret)", name or item, item, "NAME=FILE")])
    return name, path


def _value(
    name: str, sources: Mapping[str, str], environ: Mapping[str, str], root: Path
) -> bytes | None:
    if name in sources:
        return Path(sources[name]).read_bytes()
    env = environ.get(f"DOCKYARD_SECRET_{name.upper().replace('-', '_')}")
    if env is not None:
        return env.encode()
    local = root / WORK / "secrets" / name
    return local.read_bytes() if local.is_file() else None


def _write(path: Path, data: bytes, uid: int) -> Path:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)  # the container's user reads it; nobody else on the host
    else:
        # TODO: without root the container's user cannot own the copy; rootless engines map
        # the caller's uid, classic ones need it world-readable inside the 0700 directory.
        path.chmod(0o644)
    return path


__all__ = [
    "PLACEHOLDER",
    "find_secrets",
    "private_dir",
    "remove_secrets",
    "require_all",
    "secret_env",
    "with_placeholders",
    "write_secrets",
]
