"""What is being deployed: the project, its dependencies, the model entrypoint and artifacts."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dockyard.spec.base import Section

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ENTRYPOINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
TORCH_INDEX = "https://download.pytorch.org/whl"


class Project(Section):
    """Identity of the deployment; the name becomes image, service and metric labels."""

    name: str = Field(
        description="Image, service and metric name: lowercase letters, digits, '.', '_' or '-'"
    )
    version: str = Field(default="0.1.0", description="Image tag and OCI version label")
    python: str = Field(
        default="3.11", description="Python minor version of the image, e.g. '3.11'"
    )
    description: str = Field(
        default="", description="One line for the image's OCI description label"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "lowercase letters, digits, '.', '_' or '-', starting with a letter/digit"
            )
        return value

    @field_validator("python")
    @classmethod
    def _python(cls, value: str) -> str:
        if not re.match(r"^3\.(1[0-9]|[89])$", value):
            raise ValueError("a Python minor version such as '3.11'")
        return value


class Dependencies(Section):
    """Where the project's Python dependencies come from; exactly one source (or none)."""

    requirements: str | None = Field(
        default=None, description="A requirements file, resolved into dockyard.lock"
    )
    pyproject: bool = Field(
        default=False, description="Take [project].dependencies from pyproject.toml"
    )
    lock: str | None = Field(
        default=None, description="An already pinned requirements file (hashes kept)"
    )
    packages: tuple[str, ...] = Field(
        default=(), description="Extra requirement strings, e.g. 'numpy>=2'"
    )

    torch: str | None = Field(
        default=None,
        pattern=r"^(cpu|cu\d{3}|rocm\d+(\.\d+)*)$",
        description="Which torch build to lock: 'cpu', or a CUDA build such as 'cu124', taken "
        "from the PyTorch index (torch_index_url); the lock records it and checks the wheel",
    )
    torch_index_url: str | None = Field(
        default=None,
        description="Index of the torch builds; default https://download.pytorch.org/whl/<torch> "
        "(point it at a mirror when offline)",
    )
    extra_index_urls: tuple[str, ...] = Field(
        default=(), description="More package indexes searched when locking (pip --extra-index-url)"
    )

    def indexes(self) -> tuple[str, ...]:
        """Extra indexes for the resolution: the torch build's first, then the declared ones."""
        torch = (self.torch_index_url or f"{TORCH_INDEX}/{self.torch}",) if self.torch else ()
        return torch + self.extra_index_urls

    @model_validator(mode="after")
    def _one_source(self) -> Dependencies:
        sources = [s for s in (self.requirements, self.lock) if s] + (
            ["pyproject"] if self.pyproject else []
        )
        if len(sources) > 1:
            raise ValueError("only one of requirements, pyproject, lock")
        return self


class ModelEntry(Section):
    """The user's model class, as an import string relative to the project directory."""

    entrypoint: str = Field(
        description="'module:Class' of the dockyard.Model subclass, relative to the project"
    )
    name: str | None = Field(
        default=None, description="Name served under (V2 protocol, metrics); default: project.name"
    )
    version: str = Field(default="1", description="Model version reported by the V2 protocol")

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, value: str) -> str:
        if not _ENTRYPOINT.match(value):
            raise ValueError("'module:Class', e.g. 'model:DigitsModel'")
        return value


class Artifact(Section):
    """A model file: baked into the image (checked at build) or mounted (checked at start)."""

    name: str = Field(description="Name passed to the model (self.artifacts[name])")
    path: str = Field(description="File or directory, relative to the project")
    sha256: str | None = Field(
        default=None, description="Checked at build (baked) or at start-up (volume)"
    )
    mode: Literal["baked", "volume"] = Field(
        default="baked",
        description="baked: copied into its own image layer; volume: mounted read-only",
    )
    mount: str | None = Field(default=None, description="Container path; default /models/<name>")

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value):
            raise ValueError("64 lowercase hex characters (sha256sum output)")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+$", value):
            raise ValueError("letters, digits, '.', '_' or '-'")
        return value

    @property
    def container_path(self) -> str:
        """Where the artifact lives inside a container."""
        return self.mount or f"/models/{self.name}"
