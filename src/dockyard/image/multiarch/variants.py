"""The other platforms' images of a build: assembled after the building machine's image, read
back by `dockyard push` (which refuses variants of an older build)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from dockyard.errors import BuildError
from dockyard.image.direct import not_reproducible
from dockyard.image.engine import Engine
from dockyard.image.lock import Lock
from dockyard.image.multiarch.base import BaseSource, base_source, foreign_base
from dockyard.image.multiarch.image import Variant, assemble_variant, read_variant
from dockyard.image.multiarch.platform import others
from dockyard.image.plan import BuildPlan
from dockyard.image.resolve import foreign_wheelhouse
from dockyard.spec import Spec

Say = Callable[[str], None]


def build_variants(
    engine: Engine,
    spec: Spec,
    plan: BuildPlan,
    lock: Lock,
    host_image: str,
    root: Path,
    layouts: Path,
    epoch: int,
    say: Say,
    bases: BaseSource | None = None,
) -> list[Variant]:
    """Assemble an image per other platform of `build.platforms` into `layouts/<platform>/`."""
    foreign = others(spec.build.platforms)
    check_variants(spec, plan)
    host_base = engine.image(plan.base_image) or {}
    made = []
    for platform in foreign:
        started = time.monotonic()
        base = foreign_base(platform, bases or base_source({}))
        pins = lock.pins_for(platform.name)
        if pins is None:
            raise BuildError(f"dockyard.lock pins no {platform.name} wheels; delete it to resolve")
        wheels = [foreign_wheelhouse(root, platform) / e.filename for e in pins]
        variant = assemble_variant(
            engine,
            plan,
            host_image,
            host_base,
            platform,
            base,
            wheels,
            layouts / platform.slug,
            epoch,
        )
        say(
            f"{platform.name} image {variant.manifest.digest[:19]} ready in "
            f"{time.monotonic() - started:.1f}s ({variant.size / 1e6:.0f} MB compressed; "
            "not run here: no such machine or emulator)"
        )
        made.append(variant)
    return made


def check_variants(spec: Spec, plan: BuildPlan) -> None:
    """Refuse, before anything is built, other platforms whose image cannot be assembled."""
    foreign = others(spec.build.platforms)
    if foreign and (reason := not_reproducible(plan)):
        raise BuildError(
            f"build.platforms lists {', '.join(p.name for p in foreign)}, but {reason}: "
            "that needs running the other platform's apt. Drop the apt packages, or the "
            "other platforms"
        )


def built_variants(spec: Spec, host_image: str, layouts: Path) -> list[Variant]:
    """The variants `dockyard build` left for `host_image`; refused when they belong to another
    build (the building machine's image was rebuilt or retagged since)."""
    found = []
    for platform in others(spec.build.platforms):
        variant = read_variant(layouts / platform.slug, platform)
        if variant.host_image != host_image:
            raise BuildError(
                f"the {platform.name} image in {variant.layout} was assembled with another "
                f"build ({variant.host_image[:19]}, not {host_image[:19]}): run `dockyard build`"
            )
        found.append(variant)
    return found


__all__ = ["build_variants", "built_variants", "check_variants"]
