"""The release record: which image digests exist and which one each environment runs.

Kept in the project at `.dockyard/releases.json` (or a path the CI keeps as an artifact).
Every step after a push names images by digest, and every deploy, promotion and rollback is
appended with who did it and when, so `rollback` knows the previous digest and an audit can
replay the history. Pure data in, data out; the CLI reads and writes the file.
"""

from __future__ import annotations

import getpass
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.errors import ReleaseError

Action = Literal["deploy", "promote", "rollback"]


class Image(BaseModel):
    """One pushed image, by digest, with what it was made from."""

    model_config = ConfigDict(frozen=True)

    repository: str
    tag: str
    digest: str
    pushed_at: str
    pushed_by: str
    provenance: dict[str, str] = Field(default_factory=dict)
    sbom: str | None = None
    signed: bool = False

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


class Event(BaseModel):
    """A change of what an environment runs."""

    model_config = ConfigDict(frozen=True)

    action: Action
    digest: str
    at: str
    by: str
    source: str | None = None  # the environment a promotion came from
    note: str = ""


class Record(BaseModel):
    """All images and each environment's history, oldest event first."""

    images: dict[str, Image] = Field(default_factory=dict)
    environments: dict[str, list[Event]] = Field(default_factory=dict)

    def image(self, digest: str) -> Image:
        if digest not in self.images:
            raise ReleaseError(f"{digest} was never pushed from here: `dockyard push` it first")
        return self.images[digest]

    def current(self, env: str) -> Image | None:
        """What `env` runs now (the digest of its last event)."""
        events = self.environments.get(env, [])
        return self.images[events[-1].digest] if events else None

    def previous(self, env: str) -> Image:
        """What `env` ran before its current digest: the rollback target.

        Consecutive rollbacks walk further back (C -> B -> A after deploying A, B, C) instead
        of flipping between the last two digests: a rollback takes the version it left off.
        """
        stack = self.lineage(env)
        if len(stack) < 2:
            raise ReleaseError(f"{env} has no earlier release to roll back to")
        return self.images[stack[-2]]

    def lineage(self, env: str) -> list[str]:
        """The digests a rollback can return to, oldest first, the current one last.

        A deploy or promotion of another digest pushes it; a rollback pops the digest it
        replaced (so the rolled-back version is never a later rollback's target).
        """
        stack: list[str] = []
        for event in self.environments.get(env, []):
            if event.action == "rollback":
                if stack:
                    stack.pop()
                if stack and stack[-1] == event.digest:
                    continue
            elif stack and stack[-1] == event.digest:
                continue
            stack.append(event.digest)
        return stack

    def latest(self) -> Image:
        if not self.images:
            raise ReleaseError("no image was pushed yet: run `dockyard push` first")
        return max(self.images.values(), key=lambda i: i.pushed_at)

    def add_image(self, image: Image) -> Record:
        return self.model_copy(update={"images": {**self.images, image.digest: image}})

    def add_event(self, env: str, event: Event) -> Record:
        self.image(event.digest)
        history = [*self.environments.get(env, []), event]
        return self.model_copy(update={"environments": {**self.environments, env: history}})


def load(path: Path) -> Record:
    if not path.is_file():
        return Record()
    try:
        return Record.model_validate_json(path.read_text())
    except ValueError as exc:
        raise ReleaseError(f"{path} is not a release record ({exc}); restore it from CI") from exc


def save(path: Path, record: Record) -> None:
    """Write atomically: a crash never leaves half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".releases-")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def store_sbom(path: Path, digest: str, text: str) -> str:
    """Keep an image's SBOM beside the record at `path`; its path relative to the record's
    folder, so the record and its SBOMs move together (a CI artifact, DOCKYARD_STATE)."""
    relative = f"releases/{digest.replace(':', '-')}/sbom.cdx.json"
    stored = path.parent / relative
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(text)
    return relative


def merge(path: Path, record: Record, other: Path) -> Record:
    """`record` (kept at `path`) with the pushed images of the record at `other` added, their
    SBOMs copied beside `path`: how a deploy job learns what the push job recorded."""
    if not other.is_file():
        raise ReleaseError(f"{other}: no release record to merge (was the push job's kept?)")
    for image in load(other).images.values():
        known = record.images.get(image.digest)
        if known is not None and known.provenance:
            continue
        if image.sbom:
            source = other.parent / image.sbom
            if source.is_file():
                store_sbom(path, image.digest, source.read_text())
        record = record.add_image(image)
    return record


def state_root(root: Path, environ: Mapping[str, str]) -> Path:
    """Where releases and environments keep their state: DOCKYARD_STATE, else DIR/.dockyard.

    A CI runner checks the project out afresh each time, so deploy jobs point DOCKYARD_STATE
    at a folder that outlives the checkout (e.g. /var/lib/dockyard/NAME).
    """
    given = environ.get("DOCKYARD_STATE")
    return Path(given).resolve() if given else root / ".dockyard"


def record_path(root: Path, override: Path | None, environ: Mapping[str, str]) -> Path:
    return override or state_root(root, environ) / "releases.json"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor(environ: Mapping[str, str]) -> str:
    """Who acts: the CI's user when a CI runs us, else the login name."""
    return environ.get("GITHUB_ACTOR") or environ.get("GITLAB_USER_LOGIN") or getpass.getuser()
