"""One environment's stack on one host, shaped for rollouts without downtime.

The published port belongs to a *front*: Dockyard's router, in the project's own image, which
never changes during a rollout. Behind it the API runs in one or two *slots* (`blue`, `green`),
each pinned to an image digest; a rollout starts the new digest in the free slot, moves the
front's weights step by step, then removes the old slot. Workers, the queue and volumes are the
ordinary Compose stack's, running the active slot's digest.

Pure: `render` returns the Compose document and `front_files` the front's own small project
(a spec with the `[router]` table and the weights file), written by `dockyard deploy`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.deploy.auth import KEYS_FILE_ENV
from dockyard.deploy.compose import document, render_compose
from dockyard.deploy.compose.parts import FRONT, Service, healthy, limited
from dockyard.deploy.front import STUB, front_spec
from dockyard.image.plan import VENV
from dockyard.spec import Spec
from dockyard.spec.resources import Resources

SLOTS = ("blue", "green")
FRONT_SERVICE = "front"
FRONT_DIR = "/etc/dockyard/front"
WEIGHTS_FILE = "weights.json"
PYTHON = f"{VENV}/bin/python"
# The router forwards bytes; it needs far less than the model.
FRONT_RESOURCES = Resources(cpus=1.0, memory=256 * 1024**2)


@dataclass(frozen=True)
class Placement:
    """Which digest each slot runs, which slot is live, and the front's pinned image."""

    env: str
    slots: dict[str, str]
    active: str
    front_image: str
    front_dir: Path

    def other(self) -> str:
        """The slot a new version goes to."""
        return SLOTS[1] if self.active == SLOTS[0] else SLOTS[0]


def project_name(spec: Spec, env: str) -> str:
    return f"{spec.project.name}-{env}"


def render(
    spec: Spec, root: Path, placement: Placement, secrets: dict[str, Path] | None = None
) -> dict[str, Any]:
    """The environment's Compose document: front, slots, and the rest of the stack.

    `secrets` are the environment's staged secret files (absolute paths), so two environments
    on one host never share a secret file.
    """
    stack = render_compose(spec, root, placement.slots[placement.active])
    services: dict[str, Service] = dict(stack["services"])
    api = services.pop("api")
    for slot, image in sorted(placement.slots.items()):
        services[slot] = {k: v for k, v in {**api, "image": image}.items() if k != "ports"}
    services[FRONT_SERVICE] = _front(api, spec, placement)
    doc = document(project_name(spec, placement.env), services)
    for name, path in (secrets or {}).items():
        if name in doc.get("secrets", {}):
            doc["secrets"][name] = {"file": str(path)}
    return doc


def _front(api: Service, spec: Spec, placement: Placement) -> Service:
    """The router in the API's place: same port, networks and hardening, its own small limits."""
    keep = (
        "user",
        "environment",
        "ports",
        "networks",
        "restart",
        "stop_grace_period",
        "read_only",
        "tmpfs",
        "cap_drop",
        "security_opt",
        "init",
        "logging",
    )
    front: Service = {k: copy.deepcopy(api[k]) for k in keep if k in api}
    # The router needs its address, not the model's settings.
    front["environment"] = {
        k: v for k, v in api.get("environment", {}).items() if k.startswith("DOCKYARD_")
    }
    front.update(
        image=placement.front_image,
        entrypoint=[PYTHON, "-m", "dockyard.runtime.router"],
        command=[FRONT_DIR],
        volumes=[
            {
                "type": "bind",
                "source": str(placement.front_dir),
                "target": FRONT_DIR,
                "read_only": True,
            }
        ],
    )
    front["networks"] = [FRONT]
    if KEYS_FILE_ENV in front["environment"]:
        # The front checks the API keys itself, so it mounts the keys file it is pointed at.
        front["secrets"] = [spec.auth.keys_secret]
    # One published port for the front, however many API replicas sit behind it.
    front["ports"] = [
        {**port, "published": str(spec.stack.api_port or spec.serving.port)}
        for port in api.get("ports", [])
    ]
    checked = healthy(front, [PYTHON, "-m", "dockyard.runtime", "healthcheck", FRONT_DIR], spec)
    return limited(checked, FRONT_RESOURCES)


def front_files(spec: Spec, weights: dict[str, float]) -> dict[str, str]:
    """The front's project: its `[router]` names the slots, weighted from the weights file."""
    slots = [(slot, f"http://{slot}:{spec.serving.port}", weights[slot]) for slot in SLOTS]
    router = [f'weights_file = "{WEIGHTS_FILE}"', "weights_poll_s = 0.2"]
    return {
        "dockyard.toml": front_spec(spec, "dockyard deploy", slots, router),
        "front.py": STUB,
        WEIGHTS_FILE: weights_json(weights),
    }


def weights_json(weights: dict[str, float]) -> str:
    return json.dumps({slot: weights.get(slot, 0.0) for slot in SLOTS}, sort_keys=True) + "\n"


PARITY_RULES = "DY701,DY704,DY705"


def declare_differences(text: str, spec: Spec, env: str) -> str:
    """Mark the lines an environment is meant to differ on, so the doctor's parity rules
    (run across the environments' stacks) report only differences nobody declared.

    Declared: the overlay's `env` values, the keys file when the overlay changes `auth` (keys
    required in one environment only), and each slot's image (environments run digests
    independently; `promote` is what moves one digest between them).
    """
    overlay = spec.environments[env]
    declared = set(overlay.env) | ({KEYS_FILE_ENV} if overlay.auth else set())
    note = f"  # dockyard: ignore[{PARITY_RULES}] declared in [environments.{env}]"
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        key = stripped.split(":", 1)[0]
        indented_env = line.startswith("      ") and not line.startswith("       ")
        if (indented_env and key in declared) or (
            line.startswith("    image: ") and ":" in stripped
        ):
            line += note
        out.append(line)
    return "\n".join(out) + "\n"
