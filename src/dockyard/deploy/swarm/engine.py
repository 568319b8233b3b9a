"""Drive a swarm through the docker CLI: deploy a stack, wait for it, scale it, remove it.

The only module of the Swarm target that starts processes. Argument lists and the reading of
`docker service inspect` are small pure functions (tested without an engine).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import EngineError, ReleaseError

NAMESPACE = "com.docker.stack.namespace"
INIT_HINT = (
    "make this engine a swarm manager first: `docker swarm init` (one machine: "
    "`docker swarm init --advertise-addr 127.0.0.1`), or point DOCKER_HOST at a manager"
)
_BUSY = {"updating", "rollback_started"}
Say = Callable[[str], None]


@dataclass(frozen=True)
class ServiceState:
    """One service of a stack as Swarm reports it."""

    name: str
    image: str
    desired: int | None  # None: a global service (one task per node)
    running: int
    update: str  # "" when never updated, else Swarm's UpdateStatus.State
    message: str

    @property
    def settled(self) -> bool:
        """No update in flight and every desired task running (healthy, when checked)."""
        if self.update in _BUSY:
            return False
        return self.running >= (self.desired if self.desired is not None else 1)


def docker(*args: str, timeout_s: float = 300.0) -> str:
    """Run `docker ARGS`; a failure raises EngineError with what it printed."""
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"`docker {' '.join(args[:2])}` failed: {exc}") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()[-3000:]
        raise EngineError(f"`docker {' '.join(args[:3])}` failed: {said}")
    return done.stdout


def require_manager() -> None:
    """Refuse clearly (never init a swarm behind the user's back) unless this is a manager."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
    if problem := manager_problem(state):
        raise EngineError(problem)


def manager_problem(info: str) -> str | None:
    """What is wrong with `docker info`'s `STATE CONTROL` for deploying a stack, if anything."""
    node, _, control = info.strip().partition(" ")
    if node == "active" and control == "true":
        return None
    what = "a swarm worker" if node == "active" else f"not in a swarm ({node or 'unknown'})"
    return f"this Docker engine is {what}: {INIT_HINT}"


def deploy_args(file: Path, stack: str) -> list[str]:
    """Create or update the stack; services no longer in the file are removed. Images are
    used as written: Dockyard pins its own by digest, third-party ones are pinned in the spec."""
    return ["stack", "deploy", "--compose-file", str(file), "--resolve-image", "never",
            "--prune", "--detach=true", stack]  # fmt: skip


def scale_args(stack: str, replicas: dict[str, int]) -> list[str]:
    pairs = [f"{stack}_{name}={count}" for name, count in sorted(replicas.items())]
    return ["service", "scale", "--detach", *pairs]


def parse_services(
    inspected: list[dict[str, Any]], running: dict[str, list[str]]
) -> list[ServiceState]:
    """`docker service inspect` output plus each service's running tasks' images: only tasks
    on the service's current image count (an update in flight still runs old ones)."""
    out = []
    for item in inspected:
        spec, status = item.get("Spec", {}), item.get("UpdateStatus") or {}
        name = str(spec.get("Name", ""))
        image = spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")
        mode = spec.get("Mode", {})
        desired = mode["Replicated"].get("Replicas", 1) if "Replicated" in mode else None
        current = sum(1 for task_image in running.get(name, []) if task_image == image)
        update = str(status.get("State", ""))
        message = str(status.get("Message", ""))
        out.append(ServiceState(name, image, desired, current, update, message))
    return sorted(out, key=lambda s: s.name)


def services(stack: str) -> list[ServiceState]:
    """Every service of the stack, with its running tasks counted."""
    ids = docker("service", "ls", "--quiet", "--filter", f"label={NAMESPACE}={stack}").split()
    if not ids:
        return []
    inspected = json.loads(docker("service", "inspect", *ids))
    fmt = "{{.Name}} {{.Image}} {{.CurrentState}}"
    rows = docker("stack", "ps", stack, "--no-trunc", "--filter", "desired-state=running",
                  "--format", fmt)  # fmt: skip
    return parse_services(inspected, running_images(rows))


def running_images(rows: str) -> dict[str, list[str]]:
    """`stack ps` rows (`STACK_SVC.N IMAGE Running 3 seconds ago`) -> images of the running
    tasks per service (a global service's tasks are named STACK_SVC.NODEID)."""
    out: dict[str, list[str]] = {}
    for line in rows.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "Running":
            out.setdefault(parts[0].rsplit(".", 1)[0], []).append(parts[1])
    return out


def wait_settled(stack: str, image: str, timeout_s: float, say: Say) -> None:
    """Until every service runs its desired tasks with no update in flight.

    When Swarm rolls a service back from `image` (a new task failed its health check), the
    other services that took `image` are rolled back too, so the stack runs one version, and a
    ReleaseError says so: the caller must not record the new image.
    """
    time.sleep(2.0)  # Swarm starts an update shortly after the spec changed
    states = _wait(
        stack, timeout_s, say, lambda s: s.update.startswith("rollback") and s.image != image
    )
    rolled = [s for s in states if s.update.startswith("rollback") and s.image != image]
    if not rolled:
        return
    for other in states:
        if other.image == image:
            say(f"rolling {other.name} back too: the stack runs one version")
            docker("service", "rollback", "--detach", other.name)
    time.sleep(2.0)
    _wait(stack, timeout_s, say, lambda s: False)
    said = "; ".join(f"{s.name}: {s.message}" for s in rolled)
    raise ReleaseError(f"Swarm rolled the update of {stack} back ({said})")


def _wait(
    stack: str, timeout_s: float, say: Say, stop: Callable[[ServiceState], bool]
) -> list[ServiceState]:
    """Poll until every service settled or one of them is `stop`; the last states seen."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        states = services(stack)
        if any(stop(s) for s in states) or (states and all(s.settled for s in states)):
            return states
        now = ", ".join(f"{s.name} {s.running}/{s.desired or 1} {s.update}".strip() for s in states)
        if now != last:
            say(now)
            last = now
        if time.monotonic() > deadline:
            raise EngineError(f"stack {stack} did not settle in {timeout_s:g}s: {now}")
        time.sleep(1.0)


def service_image(stack: str, service: str) -> str | None:
    """The image a running service is set to, None when there is no such service."""
    try:
        fmt = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
        out = docker("service", "inspect", f"{stack}_{service}", "--format", fmt)
    except EngineError:
        return None
    return out.strip() or None


def remove(stack: str, volumes: bool, timeout_s: float = 120.0) -> None:
    """Remove the stack's services, networks, secrets and configs; its volumes when asked
    (once its containers are gone, which Swarm does after `stack rm` returns)."""
    docker("stack", "rm", stack)
    deadline = time.monotonic() + timeout_s
    label = f"label={NAMESPACE}={stack}"
    while docker("ps", "-aq", "--filter", label).split() and time.monotonic() < deadline:
        time.sleep(1.0)
    while docker("network", "ls", "-q", "--filter", label).split() and time.monotonic() < deadline:
        time.sleep(1.0)
    if volumes:
        names = docker("volume", "ls", "-q", "--filter", label).split()
        if names:
            docker("volume", "rm", "--force", *names)
