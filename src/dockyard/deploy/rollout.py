"""Deploy a digest to one environment on one host, without dropping a request.

First deploy: the stack comes up with the digest in the `blue` slot behind the front.
Later deploys, in order:
  1. start the new digest in the free slot and wait until it is healthy (model loaded, canary
     passed); if it never is, remove it: nothing was routed to it;
  2. for each canary step, give it that share of traffic through the front's weights file and
     watch its error rate and p95 on the front's own metrics for `step_s` seconds; a breach
     sends all traffic back and removes the new slot (the front retries the canary's failures
     on the old version, so clients never see them);
  3. send it all traffic, let the old slot drain, stop it (SIGTERM: in-flight work finishes),
     then move the workers to the new digest.
State (`state.json` beside the rendered files) says which slot runs what, so a later deploy or
a rollback knows where to start.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from dockyard.deploy import stack
from dockyard.deploy.compose import to_yaml
from dockyard.deploy.environment import (
    FRONT_SERVICE,
    SLOTS,
    WEIGHTS_FILE,
    Placement,
    declare_differences,
    front_files,
    project_name,
    render,
    weights_json,
)
from dockyard.errors import EngineError, ReleaseError
from dockyard.image.engine import Engine
from dockyard.spec import Spec
from dockyard.spec.environments import Rollout

Say = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """Where an environment lives on this host and how to reach its front."""

    spec: Spec
    root: Path
    env: str
    folder: Path  # .dockyard/envs/<env>: compose.yaml, front/, state.json
    url: str
    rollout: Rollout
    wait_s: float = 300.0
    headers: dict[str, str] | None = None  # e.g. an API key for the front's /metrics
    secrets: dict[str, Path] | None = None  # this environment's staged secret files

    @property
    def project(self) -> stack.Project:
        binary = stack.compose_binary()
        return stack.Project(self.folder, project_name(self.spec, self.env), binary=binary)


@dataclass(frozen=True)
class Window:
    """What the front saw of one version between two scrapes."""

    requests: float
    errors: float
    p95_s: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def deploy(target: Target, image: str, say: Say) -> None:
    """Make `image` (a digest reference) what the environment runs."""
    placement = _load_state(target)
    if placement is None:
        _first(target, image, say)
    elif placement.slots[placement.active] == image:
        say(f"{target.env} already runs {image}")
    else:
        _roll(target, placement, image, say)


def _first(target: Target, image: str, say: Say) -> None:
    placement = Placement(target.env, {SLOTS[0]: image}, SLOTS[0], image, target.folder / "front")
    _write_front(target, placement, {SLOTS[0]: 100.0, SLOTS[1]: 0.0})
    _write_compose(target, placement)
    say(f"starting {target.env} with {image}")
    stack.run(target.project, stack.up_args(target.wait_s, {}), timeout_s=target.wait_s + 60)
    _save_state(target, placement)


def _roll(target: Target, placement: Placement, image: str, say: Say) -> None:
    old, new = placement.active, placement.other()
    both = Placement(
        target.env,
        {old: placement.slots[old], new: image},
        old,
        placement.front_image,
        placement.front_dir,
    )
    _write_compose(target, both)
    say(f"starting {image} in slot {new} beside {old}")
    try:
        _up(target, new)
    except ReleaseError:
        _remove(target, new, placement)
        raise
    _wait_up(target, new)
    for share in target.rollout.steps:
        say(f"canary: {share:g}% of traffic to {new}")
        window = _watch(target, {old: 100.0 - share, new: share}, new)
        if problem := _breach(window, target.rollout):
            say(f"canary aborted at {share:g}%: {problem}; all traffic back to {old}")
            _set_weights(target, {old: 100.0, new: 0.0})
            _remove(target, new, placement)
            raise ReleaseError(f"rollout of {image} to {target.env} aborted: {problem}")
    say(f"all traffic to {new}; draining {old}")
    _set_weights(target, {old: 0.0, new: 100.0})
    time.sleep(target.rollout.drain_s)
    done = Placement(target.env, {new: image}, new, placement.front_image, placement.front_dir)
    _retire(target, old, done)
    _save_state(target, done)


def _watch(target: Target, weights: dict[str, float], version: str) -> Window:
    _set_weights(target, weights)
    before = _scrape(target)
    time.sleep(target.rollout.step_s)
    return _window(before, _scrape(target), version)


def _breach(window: Window, rollout: Rollout) -> str | None:
    if window.error_rate > rollout.max_error_rate:
        return (
            f"error rate {window.error_rate:.1%} over {window.requests:g} requests "
            f"> {rollout.max_error_rate:.1%}"
        )
    bound = rollout.max_p95_ms
    if bound is not None and window.p95_s is not None and window.p95_s * 1000 > bound:
        return f"p95 {window.p95_s * 1000:.0f} ms > {bound:g} ms"
    return None


def _up(target: Target, service: str) -> None:
    args = [
        "up",
        "--detach",
        "--no-deps",
        "--wait",
        "--wait-timeout",
        str(round(target.wait_s)),
        service,
    ]
    try:
        stack.run(target.project, args, timeout_s=target.wait_s + 60)
    except EngineError as exc:
        logs = stack.run(target.project, ["logs", "--no-color", "--tail", "30", service])
        raise ReleaseError(
            f"the new version never became healthy ({exc}); its health checks said:\n"
            f"{_health_log(target, service)}\nits last log lines:\n{logs}"
        ) from exc


def _health_log(target: Target, service: str) -> str:
    """The engine's record of the service's last health checks (exit code and output)."""
    ids = stack.run(target.project, ["ps", "--all", "--quiet", service]).split()
    if not ids:
        return "(no container)"
    health = Engine.connect().inspect(ids[0]).get("State", {}).get("Health") or {}
    return "\n".join(
        f"  exit {h.get('ExitCode')}: {str(h.get('Output', '')).strip()[:200]}"
        for h in health.get("Log", [])[-3:]
    )


def _remove(target: Target, slot: str, keep: Placement) -> None:
    stack.run(target.project, ["rm", "--stop", "--force", slot])
    _write_compose(target, keep)


def _retire(target: Target, slot: str, keep: Placement) -> None:
    """Stop the old slot (its server drains on SIGTERM), then move the workers over."""
    grace = str(round(target.spec.serving.graceful_timeout_s + 5))
    stack.run(target.project, ["stop", "--timeout", grace, slot])
    stack.run(target.project, ["rm", "--force", slot])
    _write_compose(target, keep)
    rest = [s for s in _services(target) if s not in (*SLOTS, FRONT_SERVICE, "init")]
    if rest:
        stack.run(target.project, ["up", "--detach", "--no-deps", "--wait", *rest])


def _wait_up(target: Target, slot: str) -> None:
    """Until the front's prober has seen the new slot ready (it then joins at its weight)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _gauge(_scrape(target), "dockyard_router_version_up", slot) == 1.0:
            return
        time.sleep(0.2)
    raise ReleaseError(f"the front never saw {slot} ready")


def _set_weights(target: Target, weights: dict[str, float]) -> None:
    """Write the weights file, then wait until the front applied it."""
    _atomic(target.folder / "front" / WEIGHTS_FILE, weights_json(weights))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        metrics = _scrape(target)
        if all(
            _gauge(metrics, "dockyard_router_version_weight", s) == w for s, w in weights.items()
        ):
            return
        time.sleep(0.1)
    raise ReleaseError(f"the front did not apply the weights {weights} within 15 s")


Samples = list[tuple[str, dict[str, str], float]]


def _scrape(target: Target) -> Samples:
    response = httpx.get(f"{target.url}/metrics", headers=target.headers or {}, timeout=5)
    response.raise_for_status()
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    ]


def _gauge(samples: Samples, name: str, version: str) -> float | None:
    return next(
        (v for n, labels, v in samples if n == name and labels.get("version") == version), None
    )


def _window(before: Samples, after: Samples, version: str) -> Window:
    def total(samples: Samples, errors: bool) -> float:
        return sum(
            v
            for n, labels, v in samples
            if n == "dockyard_router_requests_total"
            and labels.get("version") == version
            and (not errors or labels.get("status", "").startswith("5"))
        )

    def buckets(samples: Samples) -> dict[float, float]:
        return {
            float(labels["le"]): v
            for n, labels, v in samples
            if n == "dockyard_router_upstream_duration_seconds_bucket"
            and labels.get("version") == version
            and labels.get("role") == "primary"
        }

    requests = total(after, False) - total(before, False)
    errors = total(after, True) - total(before, True)
    old = buckets(before)
    delta = {le: v - old.get(le, 0.0) for le, v in buckets(after).items()}
    return Window(requests, errors, _p95(delta))


def _p95(cumulative: dict[float, float]) -> float | None:
    """The upper bound of the bucket holding the 95th percentile (None without traffic)."""
    count = cumulative.get(float("inf"), 0.0)
    if count <= 0:
        return None
    return next(le for le in sorted(cumulative) if cumulative[le] >= 0.95 * count)


def _services(target: Target) -> list[str]:
    return sorted(json.loads((target.folder / "services.json").read_text()))


def _write_compose(target: Target, placement: Placement) -> None:
    doc = render(target.spec, target.root, placement, target.secrets)
    target.folder.mkdir(parents=True, exist_ok=True)
    text = declare_differences(to_yaml(doc), target.spec, target.env)
    _atomic(target.folder / stack.COMPOSE_FILE, text)
    _atomic(target.folder / "services.json", json.dumps(sorted(doc["services"])))


def _write_front(target: Target, placement: Placement, weights: dict[str, float]) -> None:
    placement.front_dir.mkdir(parents=True, exist_ok=True)
    for name, text in front_files(target.spec, weights).items():
        _atomic(placement.front_dir / name, text)


def _atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o644)  # the front reads it as the image's non-root user
    os.replace(tmp, path)


def _load_state(target: Target) -> Placement | None:
    path = target.folder / "state.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return Placement(
        target.env, dict(raw["slots"]), raw["active"], raw["front_image"], target.folder / "front"
    )


def _save_state(target: Target, placement: Placement) -> None:
    state = {
        "slots": placement.slots,
        "active": placement.active,
        "front_image": placement.front_image,
    }
    _atomic(target.folder / "state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")


def current(target: Target) -> str | None:
    """The digest the environment serves, by its state on this host."""
    placement = _load_state(target)
    return placement.slots[placement.active] if placement else None


def remove(target: Target, volumes: bool) -> None:
    """Take the environment down (volumes only when asked) and forget its state."""
    if (target.folder / stack.COMPOSE_FILE).is_file():
        stack.run(target.project, stack.down_args(volumes))
    (target.folder / "state.json").unlink(missing_ok=True)
