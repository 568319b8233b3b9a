"""The only module that talks to the Docker engine (through the Engine API, classic builder)."""

from __future__ import annotations

import contextlib
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
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

    def build(
        self,
        context: IO[bytes],
        tag: str | None,
        on_step: Callable[[Step], None],
        labels: Mapping[str, str] | None = None,
        target: str | None = None,
    ) -> str:
        """Build with the classic builder (up to the stage `target`), reporting each step;
        return the image id."""
        stream = self.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            target=target,
            rm=True,
            forcerm=True,
            decode=True,
            labels=dict(labels or {}),
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

    def run_once(
        self,
        image: str,
        command: list[str],
        entrypoint: list[str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Run a throwaway container to completion and return its output."""
        container = self.api.create_container(
            image,
            command=command,
            entrypoint=entrypoint,
            network_disabled=True,
            labels=dict(labels or {}),
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

    def state(self, container: str) -> dict[str, Any] | None:
        """The container's `State` (Running, ExitCode, OOMKilled...), or None once removed."""
        try:
            return dict(self.api.inspect_container(container)["State"])
        except docker.errors.NotFound:
            return None

    def follow(self, container: str, keep: int = 40) -> deque[str]:
        """Collect the last `keep` output lines from now on, even after an auto-removal.

        Call before `start`: a container with auto-removal that dies at once takes its logs
        with it, so they are read as they are written.
        """
        lines: deque[str] = deque(maxlen=keep)
        stream = self.api.attach(container, stdout=True, stderr=True, stream=True, logs=True)
        threading.Thread(target=_collect, args=(stream, lines), daemon=True).start()
        return lines

    def events(self, container: str, since: float, until: float) -> list[dict[str, Any]]:
        """The engine's events for one container in a time window (`oom`, `die` with exitCode)."""
        found = self.api.events(
            since=int(since), until=int(until) + 1, filters={"container": container}, decode=True
        )
        return [dict(e) for e in found]

    def peak_memory(self, container: str) -> int | None:
        """The container's highest memory use so far in bytes (cgroup v1 `max_usage`)."""
        stats = self.api.stats(container, stream=False) or {}
        peak = (stats.get("memory_stats") or {}).get("max_usage")
        return int(peak) if peak else None

    def create_volume(self, name: str, labels: Mapping[str, str], tmpfs_uid: int) -> str:
        """An in-memory volume the runtime user owns, for data that lives only with a run."""
        options = {"type": "tmpfs", "device": "tmpfs", "o": f"size=256m,uid={tmpfs_uid},mode=0700"}
        self.api.create_volume(name, driver="local", driver_opts=options, labels=dict(labels))
        return name

    def remove_volume(self, name: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.api.remove_volume(name, force=True)

    def volumes(self, label: str) -> list[str]:
        """Names of the volumes carrying `label` (`key` or `key=value`)."""
        found = self.api.volumes(filters={"label": label}).get("Volumes") or []
        return sorted(str(v["Name"]) for v in found)

    def prune_volumes(self, labels: list[str]) -> None:
        """Remove the unused volumes carrying every one of `labels`; volumes in use stay."""
        self.api.prune_volumes(filters={"label": labels})

    def images(self, label: str) -> list[dict[str, Any]]:
        """Every image carrying `label`, tagged or not."""
        return [dict(i) for i in self.api.images(all=False, filters={"label": label})]

    def remove_image(self, ref: str) -> bool:
        """Remove an image no container uses; False when the engine refuses (in use, absent)."""
        try:
            self.api.remove_image(ref, noprune=False)
        except docker.errors.APIError:
            return False
        return True

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
        """Force-remove a container and its anonymous volumes; gone already is fine."""
        try:
            self.api.remove_container(container, force=True, v=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: an auto-removal is already under way
                raise

    def copy_out(self, image: str, paths: Sequence[str], into: Path) -> list[Path]:
        """The engine's tar archive of each path of `image`, written to `into/0.tar`, ...

        Read from a created (never started) container: nothing runs, nothing is stamped.
        """
        container = self.api.create_container(image, command=["true"], network_disabled=True)
        written = []
        try:
            for index, path in enumerate(paths):
                stream, _ = self.api.get_archive(container, path)
                target = into / f"{index}.tar"
                with target.open("wb") as out:
                    for chunk in stream:
                        out.write(chunk)
                written.append(target)
        finally:
            self.api.remove_container(container, force=True)
        return written

    def export_layers(self, ref: str) -> Iterator[bytes]:
        """`docker save` of the image, streamed: every layer's files, for audits."""
        return iter(self.api.get_image(ref))


def _collect(stream: Iterator[bytes], lines: deque[str]) -> None:
    """Split the attached stream into lines; ends when the container does."""
    partial = ""
    with contextlib.suppress(Exception):  # the stream ends abruptly when a container is removed
        for chunk in stream:
            partial += chunk.decode(errors="replace")
            *done, partial = partial.split("\n")
            lines.extend(done)
    if partial:
        lines.append(partial)


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
