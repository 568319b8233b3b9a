"""The reproducible build: the build stage on the engine, the runtime image written by Dockyard.

The classic builder stamps every layer it writes with the build's clock, so the runtime stage's
layers (venv, artifacts, dockyard, app, the user) are written here as normalized tars over the
base's layers (file times fixed), with a config whose times are the source epoch, and handed to
`docker load`.
Layers the engine already holds are named, not sent; an unchanged image is only tagged.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dockyard.image.assemble import OwnLayer, base_history, image_config, write_archive
from dockyard.image.context import Entry, write_tar
from dockyard.image.distribution import load, split_reference
from dockyard.image.dockerfile import SELF, STAGE_LABEL, user_lines
from dockyard.image.engine import Engine
from dockyard.image.layers import FILE_TIME, Rename, moved, normalize
from dockyard.image.plan import APP_DIR, VENV, BuildPlan

CACHE = "layers.json"


@dataclass(frozen=True)
class Source:
    """One layer taken from the build stage: the path there, where it goes, what it holds."""

    path: str
    dest: str
    created_by: str


def not_reproducible(plan: BuildPlan) -> str | None:
    """Why this image must come from `docker build` of the whole Dockerfile, if it must."""
    if plan.system_packages:
        return (
            f"apt installs {', '.join(plan.system_packages)} in the runtime stage "
            "(build.system_packages, or Python for a CUDA base), so `docker build` builds the "
            "whole image and its times differ per build"
        )
    return None


def sources(plan: BuildPlan) -> list[Source]:
    """The build stage's layers, least to most often changed (as the runtime stage copies them)."""
    site = f"{VENV}/lib/python{plan.python}/site-packages"
    return [
        Source(VENV, VENV, f"dockyard: COPY dependencies in {VENV}"),
        *(
            Source(f"/build/models/{a.name}", a.dest, f"dockyard: COPY artifact in {a.dest}")
            for a in plan.baked
        ),
        Source(SELF, site, f"dockyard: COPY dockyard in {site}"),
    ]


def find_stage(engine: Engine, key: str, base: Mapping[str, Any]) -> str | None:
    """The cached build stage for `key` on the current base (the engine's inspect of it), if
    the engine still has it."""
    below = base["RootFS"]["Layers"]
    for found in engine.images(f"{STAGE_LABEL}={key}"):
        stage = engine.image(found["Id"]) or {}
        if stage.get("RootFS", {}).get("Layers", [])[: len(below)] == below:
            return str(found["Id"])
    return None


def assemble(
    engine: Engine,
    plan: BuildPlan,
    base: Mapping[str, Any],
    stage: str,
    entries: tuple[Entry, ...],
    epoch: int,
    cache_dir: Path,
) -> str:
    """Write, load and tag the runtime image over the build stage `stage` and the base (the
    engine's inspect of `plan.base_image`); return its id."""
    below = list(base["RootFS"]["Layers"])
    history = base_history(engine.api.history(base["Id"]), len(below))
    with tempfile.TemporaryDirectory(prefix="dockyard-layers-") as tmp:
        work = Path(tmp)
        copied = _stage_layers(engine, plan, stage, cache_dir, work)
        app = _app_layer(entries, work)
        config = image_config(plan, base, history, [*copied, app], epoch)
        image_id = f"sha256:{hashlib.sha256(config).hexdigest()}"
        if engine.image(image_id) is not None:  # nothing changed: only the tag moves
            engine.api.tag(image_id, *split_reference(plan.tag))
            return image_id
        layers = [*below, *(x.diff_id for x in copied), app.diff_id]
        if _unsent(engine, plan.tag, layers, len(below), copied):
            (cache_dir / CACHE).unlink(missing_ok=True)
            copied = _stage_layers(engine, plan, stage, cache_dir, work)
        files = {x.diff_id: x.path for x in (*copied, app) if x.path is not None}
        with tempfile.TemporaryFile(dir=work) as archive:
            write_archive(archive, config, image_id.split(":", 1)[1], plan.tag, layers, files)
            archive.seek(0)
            load(engine, archive)
    return image_id


def _unsent(
    engine: Engine, tag: str, layers: list[str], below: int, copied: list[OwnLayer]
) -> bool:
    """Whether a layer named from the cache (no file written) lies past the bottom layers the
    engine is known to hold (the base's, and those shared with the image `tag` names now)."""
    current = (engine.image(tag) or {}).get("RootFS", {}).get("Layers", [])
    held = 0
    while held < min(len(layers), len(current)) and layers[held] == current[held]:
        held += 1
    held = max(held, below)
    return any(x.path is None for x in copied[held - below :])


def _stage_layers(
    engine: Engine, plan: BuildPlan, stage: str, cache_dir: Path, work: Path
) -> list[OwnLayer]:
    """The user and build-stage layers: from the cache when the stage is unchanged (named, not
    written), else read from the engine and normalized."""
    key = _recipe(plan, stage)
    cached = _read_cache(cache_dir, key)
    if cached is not None:
        return cached
    made = _user_layer(engine, plan, work)
    made += _copied_layers(engine, plan, stage, work)
    record = {"key": key, "layers": [[x.diff_id, x.created_by] for x in made]}
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / CACHE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return made


def _recipe(plan: BuildPlan, stage: str) -> str:
    """What the cached layers depend on besides the stage's files: the user's id, where each
    layer goes, how files are stamped."""
    parts = [stage, plan.uid, FILE_TIME, [(s.path, s.dest) for s in sources(plan)]]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _read_cache(cache_dir: Path, key: str) -> list[OwnLayer] | None:
    try:
        record = json.loads((cache_dir / CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key:
        return None
    return [OwnLayer(diff_id, created_by) for diff_id, created_by in record["layers"]]


def _copied_layers(engine: Engine, plan: BuildPlan, stage: str, work: Path) -> list[OwnLayer]:
    found = sources(plan)
    raws = engine.copy_out(stage, [s.path for s in found], work)
    made = []
    for index, (source, raw) in enumerate(zip(found, raws, strict=True)):
        rename = moved(source.path.rsplit("/", 1)[-1], source.dest)
        made.append(_normalized(raw, rename, work / f"layer-{index}.tar", source.created_by))
        raw.unlink()
    return made


def _user_layer(engine: Engine, plan: BuildPlan, work: Path) -> list[OwnLayer]:
    """The base's /etc/passwd and /etc/group with the runtime user added (the stage's RUN)."""
    raws = engine.copy_out(plan.base_image, ["/etc/passwd", "/etc/group"], work)
    added = user_lines(plan.uid)
    entries = [
        Entry(f"etc/{name}", data=_read_one(raw) + f"{added[name]}\n".encode())
        for name, raw in zip(("passwd", "group"), raws, strict=True)
    ]
    buffer = io.BytesIO()
    write_tar(entries, buffer)
    buffer.seek(0)
    by = "dockyard: the runtime user in /etc/passwd"
    return [_normalized(buffer, moved("etc", "etc"), work / "user.tar", by)]


def _app_layer(entries: tuple[Entry, ...], work: Path) -> OwnLayer:
    """The project's files as the context stages them (`app/...`), at /app."""
    buffer = io.BytesIO()
    write_tar((e for e in entries if e.name.startswith("app/")), buffer)
    buffer.seek(0)
    app = APP_DIR.strip("/")
    return _normalized(
        buffer, moved("app", app), work / "app.tar", f"dockyard: COPY app in {APP_DIR}/"
    )


def _normalized(raw: Path | IO[bytes], rename: Rename, dest: Path, created_by: str) -> OwnLayer:
    with dest.open("wb") as out:
        if isinstance(raw, Path):
            with raw.open("rb") as src:
                written = normalize(src, out, rename)
        else:
            written = normalize(raw, out, rename)
    return OwnLayer(written.diff_id, created_by, dest)


def _read_one(raw: Path) -> bytes:
    with tarfile.open(raw) as tar:
        member = tar.getmembers()[0]
        handle = tar.extractfile(member)
        return handle.read() if handle else b""


__all__ = ["Source", "assemble", "find_stage", "not_reproducible", "sources"]
