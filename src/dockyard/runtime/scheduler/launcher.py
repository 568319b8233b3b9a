"""How a run is started: a child process, either the command itself or `docker run --rm`.

A `Launcher` is one method (`start(job, run_id) -> Handle`); the scheduler never knows which
kind it drives. The Docker launcher runs on the host and calls the host's `docker` CLI, so no
container ever needs the Docker socket; under Kubernetes a CronJob replaces all of this.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Protocol

from dockyard.spec import Spec, format_size
from dockyard.spec.schedule import ScheduledJob

TAIL_BYTES = 64 * 1024


class Handle(Protocol):
    """A started run."""

    def poll(self) -> int | None:
        """The exit code once it has exited, else None."""

    def kill(self) -> None:
        """Stop it now (a timeout, or the scheduler shutting down)."""

    def log_tail(self, lines: int) -> str:
        """The last `lines` lines of its output."""


class Launcher(Protocol):
    """Starts runs."""

    def start(self, job: ScheduledJob, run_id: int) -> Handle: ...


Argv = Callable[[ScheduledJob, int], list[str]]


class ProcessHandle:
    """A child process whose output goes to a log file; `stop` ends what it started."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log: Path, out: IO[bytes], stop: Callable[[], None]
    ) -> None:
        self.proc, self.log, self._out, self._stop = proc, log, out, stop

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and not self._out.closed:
            self._out.close()
        return code

    def kill(self) -> None:
        self._stop()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def log_tail(self, lines: int) -> str:
        if lines == 0 or not self.log.exists():
            return ""
        with self.log.open("rb") as handle:
            handle.seek(max(0, self.log.stat().st_size - TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])


class ProcessLauncher:
    """Runs `argv(job, run_id)` as a child of the scheduler, one log file per run.

    `env` is the children's base environment: the scheduler's own, which its entry point reads
    and passes in (this module never reads the environment itself).
    """

    def __init__(
        self, argv: Argv, log_dir: Path, cwd: Path, env: Mapping[str, str],
        docker_names: bool = False,
    ) -> None:  # fmt: skip
        self.argv, self.log_dir, self.cwd, self.env = argv, log_dir, cwd, dict(env)
        self.docker_names = docker_names

    def start(self, job: ScheduledJob, run_id: int) -> Handle:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{job.name}-{run_id}.log"
        out = log.open("wb")
        env = {**self.env, **job.env, **run_env(job, run_id)}
        proc = subprocess.Popen(
            self.argv(job, run_id), cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # a ^C to the scheduler must not kill its runs mid-write
        )  # fmt: skip
        return ProcessHandle(proc, log, out, self._stopper(proc, job, run_id))

    def _stopper(
        self, proc: subprocess.Popen[bytes], job: ScheduledJob, run_id: int
    ) -> Callable[[], None]:
        if self.docker_names:  # killing the CLI would leave the container running
            name = container_name(job, run_id)
            return lambda: _quiet(["docker", "kill", name])
        return proc.kill


def run_env(job: ScheduledJob, run_id: int) -> dict[str, str]:
    """What every run is told about itself."""
    return {"DOCKYARD_SCHEDULED_JOB": job.name, "DOCKYARD_RUN_ID": str(run_id)}


def local_argv(job: ScheduledJob, run_id: int) -> list[str]:
    """Local development: the command itself, in the project directory."""
    return list(job.command)


def container_name(job: ScheduledJob, run_id: int) -> str:
    return f"dockyard-run-{job.name}-{run_id}"


def docker_argv(spec: Spec, image: str) -> Argv:
    """`docker run --rm` of the image, hardened like the services, the command as entrypoint."""
    resources = spec.resources

    def argv(job: ScheduledJob, run_id: int) -> list[str]:
        env = {**job.env, **run_env(job, run_id)}
        return [
            "docker", "run", "--rm", "--name", container_name(job, run_id),
            "--label", f"dev.dockyard.project={spec.project.name}",
            "--label", f"dev.dockyard.schedule={job.name}",
            "--init", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges:true",
            "--cpus", f"{resources.cpus:g}", "--memory", format_size(resources.memory),
            *[part for k, v in sorted(env.items()) for part in ("-e", f"{k}={v}")],
            *[part for volume in job.volumes for part in ("-v", volume)],
            "--entrypoint", job.command[0], job.image or image, *job.command[1:],
        ]  # fmt: skip

    return argv


def _quiet(argv: list[str]) -> None:
    subprocess.run(argv, capture_output=True, check=False, timeout=30)
