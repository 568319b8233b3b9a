"""The runtime image's config JSON and the `docker load` archive that carries it (pure).

The config says what the Dockerfile's runtime stage says (`dockerfile._runtime_stage`), with
every time set to the source epoch and keys sorted, so its digest (the image id) depends only on
the inputs.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from dockyard.image.container import PROJECT_LABEL
from dockyard.image.dockerfile import CMD, ENTRYPOINT, HEALTHCHECK
from dockyard.image.plan import APP_DIR, BuildPlan

_NS = 1_000_000_000


@dataclass(frozen=True)
class OwnLayer:
    """A layer Dockyard wrote: its diff id, what it holds (for history) and where its tar is
    (None when the engine already has it)."""

    diff_id: str
    created_by: str
    path: Path | None = None


def iso(epoch: int) -> str:
    """The epoch as the RFC 3339 time Docker writes."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image_config(
    plan: BuildPlan,
    base: Mapping[str, Any],
    base_history: list[dict[str, Any]],
    layers: Iterable[OwnLayer],
    epoch: int,
) -> bytes:
    """The image config: the base's, plus our layers and the runtime stage's settings.

    `base` is the engine's inspect of the base image; `base_history` its history, oldest first,
    in the config's own form.
    """
    own = list(layers)
    when = iso(epoch)
    config = {
        "architecture": base.get("Architecture", "amd64"),
        "os": base.get("Os", "linux"),
        "created": when,
        "config": runtime_settings(plan, base.get("Config") or {}),
        "rootfs": {
            "type": "layers",
            "diff_ids": [*base["RootFS"]["Layers"], *(layer.diff_id for layer in own)],
        },
        "history": [
            *base_history,
            *({"created": when, "created_by": layer.created_by} for layer in own),
        ],
    }
    if base.get("Variant"):
        config["variant"] = base["Variant"]
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def runtime_settings(plan: BuildPlan, base: Mapping[str, Any]) -> dict[str, Any]:
    """The container config of the runtime stage, over the base's (Env merged as ENV does)."""
    settings = dict(base)
    settings.update(
        Hostname="",
        Image="",
        Env=merge_env(base.get("Env") or [], plan.env),
        User=f"{plan.uid}:{plan.uid}",
        WorkingDir=APP_DIR,
        ExposedPorts={**(base.get("ExposedPorts") or {}), f"{plan.port}/tcp": {}},
        StopSignal="SIGTERM",
        Healthcheck={
            "Test": ["CMD", *HEALTHCHECK],
            "Interval": round(plan.healthcheck_interval_s * _NS),
            "Timeout": 5 * _NS,
            "StartPeriod": round(plan.healthcheck_start_period_s * _NS),
            "Retries": 3,
        },
        Entrypoint=list(ENTRYPOINT),
        Cmd=list(CMD),
        Labels={**(base.get("Labels") or {}), **dict(plan.labels), PROJECT_LABEL: plan.name},
    )
    return settings


def merge_env(base: list[str], env: Iterable[tuple[str, str]]) -> list[str]:
    """`ENV k=v`: replace a variable in place, append a new one."""
    merged = dict(item.partition("=")[::2] for item in base)
    merged.update(env)
    return [f"{key}={value}" for key, value in merged.items()]


def base_history(history: list[dict[str, Any]], layers: int) -> list[dict[str, Any]]:
    """The engine's history of the base (newest first) as config entries, oldest first.

    The engine does not say which entries made no layer; when sizes do not tell, one plain
    entry per layer keeps `docker history` aligned with the layers.
    """
    entries = [
        {
            "created": iso(int(h.get("Created", 0))),
            "created_by": h.get("CreatedBy", ""),
            **({"comment": h["Comment"]} if h.get("Comment") else {}),
            **({"empty_layer": True} if not h.get("Size") else {}),
        }
        for h in reversed(history)
    ]
    if sum(1 for e in entries if not e.get("empty_layer")) == layers:
        return entries
    return [{"created": iso(0), "created_by": "base layer"} for _ in range(layers)]


def write_archive(
    out: IO[bytes],
    config: bytes,
    config_id: str,
    tag: str,
    layers: list[str],
    files: Mapping[str, Path],
) -> None:
    """A `docker save`-format tar: manifest, config, and the layer tars in `files` (by diff id).

    Layers not in `files` are named but absent: the engine's load skips a layer whose chain it
    already has without opening its file.
    """
    paths = [f"{diff_id.split(':', 1)[1]}/layer.tar" for diff_id in layers]
    manifest = [{"Config": f"{config_id}.json", "RepoTags": [tag], "Layers": paths}]
    with tarfile.open(fileobj=out, mode="w:") as tar:
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, f"{config_id}.json", config)
        for diff_id, path in zip(layers, paths, strict=True):
            if diff_id in files:
                tar.add(files[diff_id], arcname=path)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


__all__ = [
    "OwnLayer",
    "base_history",
    "image_config",
    "iso",
    "merge_env",
    "runtime_settings",
    "write_archive",
]
