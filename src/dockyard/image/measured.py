"""The container's measured start-up, kept from the last `dockyard test` for what sizes itself by
it: Kubernetes startup probes (`dockyard k8s`) wait for the model's real load time, not a guess.

Stored as `.dockyard/startup.json` beside the lock: the image it was measured on, seconds from
process start to ready, and the phases (`dockyard.runtime.startup`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.image.startup import describe_startup

RECORD = Path(".dockyard") / "startup.json"


def save_startup(root: Path, image: str, report: Mapping[str, Any]) -> Path | None:
    """Keep the report of a container that became ready (nothing to keep without `ready_s`)."""
    if not isinstance(report.get("ready_s"), (int, float)):
        return None
    path = root / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"image": image, "ready_s": report["ready_s"], "phases_s": report.get("phases_s", {})}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def measured_ready_s(root: Path) -> float | None:
    """Seconds to ready from the last `dockyard test`, or None when none was recorded."""
    data = last_startup(root)
    return None if data is None else float(data["ready_s"])


def last_startup(root: Path) -> dict[str, Any] | None:
    """The last recorded start-up ({"image", "ready_s", "phases_s"}), or None."""
    try:
        data = json.loads((root / RECORD).read_text(encoding="utf-8"))
        float(data["ready_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def startup_line(root: Path) -> str:
    """For the build report: the last measured start-up of this project's image, and of which."""
    data = last_startup(root)
    if data is None:
        return "start-up not measured yet: `dockyard test` measures it in a container"
    phases = describe_startup(data)
    return (
        f"start-up ready in {data['ready_s']:.2f}s ({phases}); measured by the last"
        f" `dockyard test`, on {data['image']}"
    )


__all__ = ["RECORD", "last_startup", "measured_ready_s", "save_startup", "startup_line"]
