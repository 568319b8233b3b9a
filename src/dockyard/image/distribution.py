"""Moving built images: tag, push (returning the registry's digest), save and load.

The second engine adapter beside `engine.py` (which builds and runs): everything that ships an
image talks to the engine here, so the ship commands never reach for the SDK themselves.
Registry credentials come from the user's Docker config (`docker login`, `DOCKER_CONFIG`),
which the SDK reads itself; Dockyard never stores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol

import docker
import docker.errors

from dockyard.errors import EngineError, ReleaseError
from dockyard.image.engine import Engine

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


@dataclass(frozen=True)
class Pushed:
    """Where an image now lives: `repository@digest` is the only reference later steps use."""

    repository: str
    tag: str
    digest: str
    size: int

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


def split_reference(ref: str) -> tuple[str, str]:
    """`host:5000/ns/name:tag` -> (`host:5000/ns/name`, `tag`); a missing tag is `latest`."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return ref, "latest"
    return name, tag


def push(
    engine: Engine, local: str, repository: str, tag: str, on_line: Callable[[str], None]
) -> Pushed:
    """Tag `local` as `repository:tag`, push it and return the digest the registry answered."""
    if engine.image(local) is None:
        raise EngineError(f"no image {local} here: run `dockyard build` first")
    engine.api.tag(local, repository, tag)
    try:
        events = engine.api.push(repository, tag, stream=True, decode=True)
        return _pushed(repository, tag, events, on_line)
    except docker.errors.APIError as exc:
        raise EngineError(f"push of {repository}:{tag} failed: {exc.explanation or exc}") from exc


def _pushed(
    repository: str, tag: str, events: Iterator[dict[str, object]], on_line: Callable[[str], None]
) -> Pushed:
    digest, size = "", 0
    for event in events:
        if "error" in event:
            raise EngineError(f"push of {repository}:{tag} failed: {event['error']}")
        aux = event.get("aux")
        if isinstance(aux, dict) and "Digest" in aux:
            digest, size = str(aux["Digest"]), int(aux.get("Size", 0))
        elif status := event.get("status"):
            on_line(f"{event.get('id', '')} {status}".strip())
    if not DIGEST.match(digest):
        raise EngineError(f"the registry answered no digest for {repository}:{tag}")
    return Pushed(repository, tag, digest, size)


def image_id(engine: Engine, ref: str) -> str:
    """The image's config digest (`docker image inspect .Id`), stable across save and load."""
    found = engine.image(ref)
    if found is None:
        raise EngineError(f"no image {ref} here: run `dockyard build` first")
    return str(found["Id"])


def save(engine: Engine, ref: str, out: Writable) -> None:
    """`docker save REF` into `out`."""
    try:
        for chunk in engine.api.get_image(ref):
            out.write(chunk)
    except docker.errors.APIError as exc:
        raise EngineError(f"cannot save {ref}: {exc.explanation or exc}") from exc


def load(engine: Engine, data: IO[bytes]) -> list[str]:
    """`docker load`; the image ids or tags the engine reports as loaded."""
    try:
        events = engine.api.load_image(data)
    except docker.errors.APIError as exc:
        raise EngineError(f"cannot load the image: {exc.explanation or exc}") from exc
    loaded = []
    for event in events:
        if "error" in event:
            raise EngineError(f"cannot load the image: {event['error']}")
        stream = str(event.get("stream", ""))
        for prefix in ("Loaded image ID: ", "Loaded image: "):
            if stream.startswith(prefix):
                loaded.append(stream[len(prefix) :].strip())
    return loaded


def by_digest(reference: str) -> tuple[str, str]:
    """`REPOSITORY@sha256:HEX` -> (repository, digest); anything else is refused."""
    repository, sep, digest = reference.partition("@")
    if not sep or not repository or not DIGEST.match(digest):
        raise ReleaseError(f"{reference!r}: name images by digest, REPOSITORY@sha256:<64 hex>")
    return repository, digest
