"""The only module that talks to the Docker engine (through the Engine API, classic builder)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import docker
import docker.errors

from dockyard.errors import BuildError, EngineError

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


@dataclass(frozen=True)
class Step:
    """A build progress event: one Dockerfile instruction started, or was served from cache."""

    number: int
    total: int
    instruction: str
    cached: bool = False


@dataclass(frozen=True)
class Layer:
    """One entry of `docker history`: what created it and how many bytes it adds."""

    created_by: str
    size: int


class Engine:
    """A thin adapter over the docker SDK's low-level client; errors become EngineError."""

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    @classmethod
    def connect(cls, timeout: int = 600) -> Engine:
        """Connect to the engine named by DOCKER_HOST (or the default socket) and ping it."""
        try:
            api = docker.from_env(timeout=timeout).api
            api.ping()
        except Exception as exc:
            raise EngineError(f"no container engine answers ({exc}); start dockerd") from exc
        return cls(api)

    def build(self, context: IO[bytes], tag: str, on_step: Callable[[Step], None]) -> str:
        """Build with the classic builder, reporting each step; return the image id."""
        stream = self.api.build(
            fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True, decode=True
        )
        image_id, current = "", None
        for event in stream:
            if "error" in event:
                raise BuildError(f"docker build failed: {event['error'].strip()}")
            image_id = event.get("aux", {}).get("ID", image_id)
            current = _progress(event.get("stream", ""), current, on_step)
        if not image_id:
            raise BuildError("docker build finished without an image id")
        return str(image_id)

    def image(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect`, or None when absent."""
        try:
            return dict(self.api.inspect_image(ref))
        except docker.errors.ImageNotFound:
            return None

    def history(self, ref: str) -> list[Layer]:
        """Layers newest first, as `docker history` lists them."""
        return [Layer(h.get("CreatedBy", ""), int(h.get("Size", 0))) for h in self.api.history(ref)]

    def run_once(self, image: str, command: list[str], entrypoint: list[str] | None = None) -> str:
        """Run a throwaway container to completion and return its output."""
        container = self.api.create_container(
            image, command=command, entrypoint=entrypoint, network_disabled=True
        )
        try:
            self.api.start(container)
            self.api.wait(container, timeout=120)
            return bytes(self.api.logs(container)).decode(errors="replace")
        finally:
            self.api.remove_container(container, force=True)

    def create(self, **config: Any) -> str:
        """Create a container from a `runner.ContainerConfig` mapping; return its id."""
        host_config = self.api.create_host_config(**config.pop("host_config"))
        try:
            return str(self.api.create_container(host_config=host_config, **config)["Id"])
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot create the container: {exc.explanation or exc}") from exc

    def start(self, container: str) -> None:
        self.api.start(container)

    def inspect(self, container: str) -> dict[str, Any]:
        return dict(self.api.inspect_container(container))

    def logs(self, container: str, tail: int = 40) -> str:
        return bytes(self.api.logs(container, tail=tail)).decode(errors="replace")

    def exec(self, container: str, command: list[str], user: str = "") -> tuple[int, str]:
        """Run a command in a running container; (exit code, output)."""
        handle = self.api.exec_create(container, command, user=user)
        output = bytes(self.api.exec_start(handle)).decode(errors="replace")
        return int(self.api.exec_inspect(handle)["ExitCode"]), output

    def stop(self, container: str, timeout: int = 10) -> None:
        self.api.stop(container, timeout=timeout)

    def remove(self, container: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.api.remove_container(container, force=True, v=True)

    def export_layers(self, ref: str) -> Iterator[bytes]:
        """`docker save` of the image, streamed: every layer's files, for audits."""
        return iter(self.api.get_image(ref))


def _progress(text: str, current: Step | None, on_step: Callable[[Step], None]) -> Step | None:
    """Turn the classic builder's text stream into Step events."""
    for line in text.splitlines():
        if match := _STEP.match(line.strip()):
            current = Step(int(match.group(1)), int(match.group(2)), match.group(3))
            on_step(current)
        elif current is not None and "Using cache" in line:
            current = Step(current.number, current.total, current.instruction, cached=True)
            on_step(current)
    return current
