"""The whole spec: one frozen object that runtime, build and CLI all read."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from dockyard.spec.auth import Auth
from dockyard.spec.base import Section
from dockyard.spec.build import Build
from dockyard.spec.environments import Environment, check_name
from dockyard.spec.gate import Gate
from dockyard.spec.jobs import Worker
from dockyard.spec.kubernetes import Kubernetes
from dockyard.spec.monitoring import Monitoring
from dockyard.spec.pipeline import Pipeline
from dockyard.spec.project import Artifact, Dependencies, ModelEntry, Project
from dockyard.spec.resources import Resources
from dockyard.spec.router import Router
from dockyard.spec.schedule import ScheduledJob
from dockyard.spec.serving import Health, Serving
from dockyard.spec.stack import Stack
from dockyard.spec.swarm import Swarm

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRETS_FORM = (
    "a list of secret names at the top of the file, before any [table], e.g. "
    'secrets = ["openai_key"]; values never go in the spec: supply them with --secret NAME=FILE, '
    "DOCKYARD_SECRET_NAME or .dockyard/secrets/NAME, and read /run/secrets/NAME (docs/secrets.md)"
)


class Spec(Section):
    """A Dockyard project as declared in dockyard.toml (or [tool.dockyard] in pyproject.toml)."""

    project: Project
    model: ModelEntry
    dependencies: Dependencies = Dependencies()
    artifacts: tuple[Artifact, ...] = ()
    serving: Serving = Serving()
    health: Health = Health()
    resources: Resources = Resources()
    build: Build = Build()
    worker: Worker = Worker()
    stack: Stack = Stack()
    swarm: Swarm = Swarm()
    gate: Gate = Gate()
    pipeline: Pipeline = Pipeline()
    router: Router = Router()
    monitoring: Monitoring = Monitoring()
    auth: Auth = Auth()
    kubernetes: Kubernetes = Kubernetes()
    schedules: tuple[ScheduledJob, ...] = ()
    secrets: tuple[str, ...] = Field(
        default=(),
        description="Names of secrets, read at /run/secrets/NAME (values never go in the spec; "
        "see docs/secrets.md)",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Plain environment variables for every process of the model (serve, run, "
        "test, up, workers, stages, Kubernetes); no secrets",
    )
    environments: dict[str, Environment] = Field(
        default_factory=dict, description="Staged environments: what each one changes"
    )

    @field_validator("secrets", mode="before")
    @classmethod
    def _secret_list(cls, value: object) -> object:
        if isinstance(value, dict):
            raise ValueError(SECRETS_FORM)
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(name for name in value if not _ENV_NAME.match(name))
        if bad:
            raise ValueError(f"variable names of letters, digits and '_' (got {', '.join(bad)})")
        return value

    @field_validator("environments")
    @classmethod
    def _environment_names(cls, value: dict[str, Environment]) -> dict[str, Environment]:
        for name in value:
            check_name(name)
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"secret names of letters, digits, '_' or '-' (got {name!r})")
        return value

    @field_validator("artifacts")
    @classmethod
    def _unique_artifacts(cls, value: tuple[Artifact, ...]) -> tuple[Artifact, ...]:
        names = [a.name for a in value]
        if len(names) != len(set(names)):
            raise ValueError("artifact names to be unique")
        return value

    @model_validator(mode="after")
    def _tls_secrets_declared(self) -> Spec:
        tls = [n for n in (self.auth.tls_cert_secret, self.auth.tls_key_secret) if n]
        if missing := [n for n in tls if n not in self.secrets]:
            raise ValueError(
                f"the TLS secrets {', '.join(missing)} (auth.tls_*_secret) listed in `secrets`, "
                "so `dockyard run`, `up` and Kubernetes mount them at /run/secrets/NAME"
            )
        return self

    @property
    def model_name(self) -> str:
        """The name the model is served under (V2 protocol, metrics)."""
        return self.model.name or self.project.name

    def digest(self) -> str:
        """A stable hash of the spec's content, recorded in image labels."""
        # Default [monitoring], [swarm] and [kubernetes] tables stay out, so their arrival left
        # existing digests as they were.
        defaults = {"monitoring": Monitoring(), "swarm": Swarm(), "kubernetes": Kubernetes()}
        skip = {name for name, value in defaults.items() if getattr(self, name) == value} or None
        blob = json.dumps(self.model_dump(mode="json", exclude=skip), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def resolve(root: Path, relative: str) -> Path:
    """A spec path, relative to the project directory."""
    return (root / relative).resolve()
