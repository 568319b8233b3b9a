"""What is being deployed: the project, its dependencies, the model entrypoint and artifacts."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dockyard.spec.base import Section

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ENTRYPOINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Project(Section):
    """Identity of the deployment; the name becomes image, service and metric labels."""

    name: str
    version: str = "0.1.0"
    python: str = "3.11"
    description: str = ""

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

    requirements: str | None = None
    pyproject: bool = False
    lock: str | None = None
    packages: tuple[str, ...] = ()

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

    entrypoint: str
    name: str | None = None
    version: str = "1"

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint(cls, value: str) -> str:
        if not _ENTRYPOINT.match(value):
            raise ValueError("'module:Class', e.g. 'model:DigitsModel'")
        return value


class Artifact(Section):
    """A model file: baked into the image (checked at build) or mounted (checked at start)."""

    name: str
    path: str
    sha256: str | None = None
    mode: Literal["baked", "volume"] = "baked"
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
