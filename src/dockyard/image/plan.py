"""Spec + per-build overrides -> one frozen BuildPlan that every renderer reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.image.dockerignore import ignore_patterns
from dockyard.spec import Spec
from dockyard.spec.build import DEFAULT_BASES
from dockyard.spec.load import IN_CONTAINER_ENV

VENV = "/opt/venv"
APP_DIR = "/app"
# Ubuntu releases the CUDA runtime images are published for, by the Python their apt ships.
CUDA_UBUNTU = {"3.10": "22.04", "3.12": "24.04"}
_TORCH_CUDA = re.compile(r"^torch==[^+]+\+cu(\d+)(\d)$")


@dataclass(frozen=True)
class Overrides:
    """What a single build adds to the spec: read from flags, env and the lock by the CLI."""

    base_image: str | None = None
    locked_base: str | None = None
    tag: str | None = None
    revision: str = "unknown"
    created: str = "1970-01-01T00:00:00Z"
    source: str = ""
    dockyard_version: str = "0.0.0"
    dockyard_wheel: str = "dockyard-0.0.0-py3-none-any.whl"
    pins: tuple[str, ...] = ()
    has_sdists: bool = False
    lock_sha256: str = ""


@dataclass(frozen=True)
class BakedArtifact:
    """An artifact copied into the image: its context name, container path and expected hash."""

    name: str
    source: str
    dest: str
    sha256: str | None


@dataclass(frozen=True)
class BuildPlan:
    """Everything the Dockerfile, the context and the engine need; nothing is read later."""

    name: str
    version: str
    tag: str
    base_image: str
    python: str
    python_cmd: str
    uid: int
    port: int
    system_packages: tuple[str, ...]
    build_packages: tuple[str, ...]
    dockyard_wheel: str
    has_sdists: bool
    baked: tuple[BakedArtifact, ...]
    ignore: tuple[str, ...]
    max_file_size: int
    healthcheck_interval_s: float
    healthcheck_start_period_s: float
    labels: tuple[tuple[str, str], ...]
    env: tuple[tuple[str, str], ...]
    gpus: int
    pins: tuple[str, ...] = field(default=())
    bytecode: str = "runtime"


def plan_for(spec: Spec, root: Path, overrides: Overrides) -> BuildPlan:
    """Decide base, files, user and metadata of the image for `spec` in `root`."""
    base = choose_base(spec, overrides)
    return BuildPlan(
        name=spec.project.name,
        version=spec.project.version,
        tag=overrides.tag or f"{spec.project.name}:{spec.project.version}",
        base_image=base,
        python=spec.project.python,
        python_cmd=spec.build.python_path or "python3",
        uid=spec.build.uid,
        port=spec.serving.port,
        system_packages=_system_packages(spec),
        build_packages=spec.build.build_packages,
        dockyard_wheel=overrides.dockyard_wheel,
        has_sdists=overrides.has_sdists,
        baked=_baked(spec),
        ignore=ignore_patterns(spec),
        max_file_size=spec.build.max_file_size,
        healthcheck_interval_s=spec.build.healthcheck_interval_s,
        healthcheck_start_period_s=spec.build.healthcheck_start_period_s,
        labels=_labels(spec, overrides, base),
        env=_env(spec),
        gpus=spec.resources.gpus,
        pins=overrides.pins,
        bytecode=spec.build.bytecode,
    )


def choose_base(spec: Spec, overrides: Overrides) -> str:
    """Flag/env override > spec > CUDA runtime (gpus > 0) > digest in the lock > official slim."""
    explicit = overrides.base_image or spec.build.base_image
    if spec.resources.gpus > 0:
        return _cuda_base(spec, explicit, overrides.pins)
    if explicit:
        return explicit
    default = DEFAULT_BASES.get(spec.project.python, f"python:{spec.project.python}-slim-bookworm")
    if overrides.locked_base and overrides.locked_base.startswith(default + "@"):
        return overrides.locked_base
    return default


def _cuda_base(spec: Spec, explicit: str | None, pins: tuple[str, ...]) -> str:
    """A CUDA *runtime* image; devel images carry compilers that must stay in a build stage."""
    if explicit:
        if "devel" in explicit:
            raise BuildError(
                f"base image {explicit!r} is a CUDA devel image; use a *-runtime-* tag"
            )
        return explicit
    cuda = spec.build.cuda
    if cuda is None:
        raise BuildError(
            "resources.gpus > 0 needs build.cuda (the CUDA your framework wheel targets)"
        )
    _check_torch_cuda(cuda, pins)
    ubuntu = CUDA_UBUNTU.get(spec.project.python)
    if ubuntu is None:
        raise BuildError(
            f"CUDA runtime images ship Python {' or '.join(CUDA_UBUNTU)} only; set project.python "
            "accordingly or build.base_image to a CUDA runtime image with your Python"
        )
    full = cuda if cuda.count(".") == 2 else f"{cuda}.0"
    return f"nvidia/cuda:{full}-cudnn-runtime-ubuntu{ubuntu}"


def _check_torch_cuda(cuda: str, pins: tuple[str, ...]) -> None:
    """A torch wheel built for cu124 needs CUDA 12.4's runtime libraries, not another minor."""
    for pin in pins:
        match = _TORCH_CUDA.match(pin)
        if match and ".".join(match.groups()) != ".".join(cuda.split(".")[:2]):
            raise BuildError(
                f"{pin} was built for CUDA {'.'.join(match.groups())}, build.cuda is {cuda}"
            )


def _system_packages(spec: Spec) -> tuple[str, ...]:
    """CUDA runtime images have no Python: add Ubuntu's interpreter and venv module."""
    extra: tuple[str, ...] = ()
    if spec.resources.gpus > 0 and not spec.build.base_image:
        extra = ("python3", "python3-venv")
    return extra + spec.build.system_packages


def _baked(spec: Spec) -> tuple[BakedArtifact, ...]:
    return tuple(
        BakedArtifact(name=a.name, source=a.path, dest=a.container_path, sha256=a.sha256)
        for a in spec.artifacts
        if a.mode == "baked"
    )


def _labels(spec: Spec, o: Overrides, base: str) -> tuple[tuple[str, str], ...]:
    """OCI annotations plus the spec's, lock's and base image's identity: provenance that travels
    with the image (and that `dockyard push` records and signs)."""
    return (
        ("org.opencontainers.image.title", spec.project.name),
        ("org.opencontainers.image.version", spec.project.version),
        ("org.opencontainers.image.revision", o.revision),
        ("org.opencontainers.image.created", o.created),
        ("org.opencontainers.image.source", o.source),
        ("org.opencontainers.image.description", spec.project.description),
        ("dev.dockyard.spec-sha256", spec.digest()),
        ("dev.dockyard.lock-sha256", o.lock_sha256),
        ("dev.dockyard.base", base),
        ("dev.dockyard.version", o.dockyard_version),
    )


def _env(spec: Spec) -> tuple[tuple[str, str], ...]:
    base = (
        ("PATH", f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ("VIRTUAL_ENV", VENV),
        ("PYTHONDONTWRITEBYTECODE", "1"),
        ("PYTHONUNBUFFERED", "1"),
        ("HOME", "/tmp"),
        (IN_CONTAINER_ENV, "1"),
        ("DOCKYARD_PORT", str(spec.serving.port)),
    )
    return base + _tls_env(spec) + tuple(sorted(spec.env.items()))


def _tls_env(spec: Spec) -> tuple[tuple[str, str], ...]:
    """Where the serving process and the image's health check find the TLS secret files."""
    if not spec.auth.tls:
        return ()
    return (
        ("DOCKYARD_TLS_CERT_FILE", f"/run/secrets/{spec.auth.tls_cert_secret}"),
        ("DOCKYARD_TLS_KEY_FILE", f"/run/secrets/{spec.auth.tls_key_secret}"),
    )
