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
    try:
        data = json.loads((root / RECORD).read_text(encoding="utf-8"))
        return float(data["ready_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


__all__ = ["RECORD", "measured_ready_s", "save_startup"]
