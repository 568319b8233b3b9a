"""DY109: image layers carrying junk (bytecode caches, test suites, docs, package caches).

The distribution's own docs and standard-library bytecode are left alone: they come with the base.
`testing` folders are not junk: packages import them at run time (`numpy.testing`). Hash-based
bytecode (PEP 552) is not junk either: nothing writes it by accident, it is compiled ahead of
time so containers start without compiling (Dockyard's `build.bytecode`, `compileall
--invalidation-mode`); timestamp caches are what installs and test runs leave behind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from dockyard.doctor.image import Image, Layer
from dockyard.doctor.rule import Hit, Rule

JUNK_MIN_BYTES = 5 * 1024 * 1024  # below this a layer's junk is not worth a finding
_JUNK: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("__pycache__", re.compile(r"^(?!usr/lib/python3[.\d]*/).*(__pycache__/|\.py[co]$)")),
    ("tests", re.compile(r"-packages/([^/]+/)+tests?/")),
    ("docs", re.compile(r"-packages/([^/]+/)+(docs?|examples)/")),
    ("package caches", re.compile(r"^root/\.cache/|var/cache/apt/archives/|var/lib/apt/lists/")),
    ("git history", re.compile(r"(^|/)\.git/")),
)


def _junk(layer: Layer) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for f in layer.files:
        if f.hash_pyc:
            continue
        kind = next((k for k, pattern in _JUNK if pattern.search(f.path)), None)
        if kind:
            sizes[kind] += f.size
    return sizes


def _check(image: Image) -> Iterator[Hit]:
    for layer in image.layers:
        sizes = _junk(layer)
        total = sum(sizes.values())
        if total >= JUNK_MIN_BYTES:
            parts = ", ".join(f"{k} {n / 2**20:.1f} MiB" for k, n in sizes.most_common())
            step = layer.created_by[:80] or "?"
            yield Hit(
                0, f"layer {layer.index} ({step}) holds {total / 2**20:.1f} MiB of junk: {parts}"
            )


RULE = Rule(
    "DY109",
    "Junk in image layers",
    "warning",
    "bloat",
    ("image",),
    fix="Set PYTHONDONTWRITEBYTECODE=1, install with --no-cache-dir, clean caches in the same "
    "RUN, and keep tests, docs and .git out with .dockerignore.",
    check=_check,
)
