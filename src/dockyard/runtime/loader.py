"""Import the user's model class from the project directory and instantiate it."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.errors import ModelError
from dockyard.runtime.contract import Model
from dockyard.runtime.model_env import apply_model_env
from dockyard.spec import Spec

CHUNK = 1024 * 1024
SECRETS_DIR = Path("/run/secrets")


def load_model_class(spec: Spec, root: Path) -> type[Model[Any, Any]]:
    """Import `module:Class` with the project directory first on sys.path.

    The spec's [env] is applied first (without overriding the real environment), because
    libraries such as tokenizers and torch read their settings at import time (`model_env`).
    """
    apply_model_env(spec.env)
    module_name, class_name = spec.model.entrypoint.split(":", 1)
    _put_first_on_path(root)
    _forget_other_projects(module_name, root)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ModelError(
            f"cannot import {module_name!r} from {root}: {type(exc).__name__}: {exc}"
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type) or not issubclass(cls, Model):
        raise ModelError(
            f"{spec.model.entrypoint} must name a subclass of dockyard.Model (found {cls!r})"
        )
    return cls


def _put_first_on_path(root: Path) -> None:
    """This project's directory before any other project's a process loaded earlier."""
    with contextlib.suppress(ValueError):
        sys.path.remove(str(root))
    sys.path.insert(0, str(root))


def _forget_other_projects(module_name: str, root: Path) -> None:
    """Drop a cached module of the same name that another project's directory provided.

    Projects commonly name their module `model`; a process that loads two of them (the gate's
    host-side parity run, `dockyard router` with local versions, tests) would otherwise get the
    first project's module back from `sys.modules` for the second.
    """
    top = module_name.split(".")[0]
    cached = sys.modules.get(top)
    origin = getattr(cached, "__file__", None)
    if cached is None or origin is None or Path(origin).resolve().is_relative_to(root.resolve()):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]


def artifact_paths(spec: Spec, root: Path, in_container: bool) -> dict[str, Path]:
    """Where each artifact is: its container path inside an image, else relative to the project.

    `in_container` comes from the process's entry point (`dockyard.spec.runs_in_container`).
    """
    return {
        a.name: Path(a.container_path) if in_container else (root / a.path).resolve()
        for a in spec.artifacts
    }


def secret_paths(spec: Spec, directory: Path = SECRETS_DIR) -> dict[str, Path]:
    """Where each declared secret's file is: /run/secrets in a container, elsewhere on a host."""
    return {name: directory / name for name in spec.secrets}


def verify_artifacts(
    spec: Spec, paths: Mapping[str, Path], *, baked_too: bool = False
) -> list[str]:
    """Check that volume (optionally baked) artifacts exist and match their sha256."""
    problems = []
    for art in spec.artifacts:
        if art.mode == "baked" and not baked_too:
            continue
        path = paths[art.name]
        if not path.exists():
            problems.append(
                f"artifact {art.name!r}: {path} does not exist (mount it or fix artifacts.path)"
            )
        elif art.sha256 and path.is_file() and sha256_of(path) != art.sha256:
            problems.append(
                f"artifact {art.name!r}: {path} has sha256 {sha256_of(path)[:12]}..., expected "
                f"{art.sha256[:12]}... (wrong or corrupted file)"
            )
    return problems


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def instantiate(
    cls: type[Model[Any, Any]],
    artifacts: Mapping[str, Path],
    secrets: Mapping[str, Path] | None = None,
) -> Model[Any, Any]:
    """Create the model and hand it its artifacts and secret files (setup is the caller's job)."""
    try:
        model = cls()
    except Exception as exc:
        raise ModelError(f"{cls.__name__}() failed: {type(exc).__name__}: {exc}") from exc
    model.artifacts = dict(artifacts)
    model.secrets = dict(secrets or {})
    return model


def set_up(
    spec: Spec, root: Path, cls: type[Model[Any, Any]], in_container: bool
) -> tuple[Model[Any, Any], float]:
    """Check the artifacts, create the model and run its `setup()`; the model and setup's time.

    `in_container`: artifacts are at their container paths (an image's entry point says).
    """
    paths = artifact_paths(spec, root, in_container)
    problems = verify_artifacts(spec, paths)
    if problems:
        raise ModelError("; ".join(problems))
    model = instantiate(cls, paths, secret_paths(spec))
    started = time.perf_counter()
    model.setup()
    return model, time.perf_counter() - started
