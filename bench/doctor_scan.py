"""Time of the doctor's token scan over real text files, with and without the needle prefilter.

    python bench/doctor_scan.py [--no-prefilter] [IMAGE ...]

Without images: the Python sources of the installed scikit-learn (what an image's site-packages
mostly holds). With images: `read_image` + `check_image` wall time per image (the engine test
of the image set pays this once per example image).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dockyard.doctor.tokens import DETECTORS, Detector, find_tokens


def _every_pattern(text: str) -> int:
    return sum(1 for d in DETECTORS for m in d.pattern.finditer(text) if d.valid(m.group(1)))


def sources() -> None:
    found = importlib.util.find_spec("sklearn")
    assert found is not None and found.submodule_search_locations
    root = Path(next(iter(found.submodule_search_locations)))
    texts = [p.read_text(errors="replace") for p in sorted(root.rglob("*.py"))]
    mb = sum(map(len, texts)) / 1e6
    started = time.perf_counter()
    for text in texts:
        list(find_tokens(text))
    filtered = time.perf_counter() - started
    started = time.perf_counter()
    for text in texts:
        _every_pattern(text)
    plain = time.perf_counter() - started
    print(
        f"{len(texts)} files, {mb:.1f} MB: "
        f"prefiltered {filtered:.2f} s, every pattern {plain:.2f} s"
    )


def images(names: list[str]) -> None:
    from dockyard.doctor import check_image
    from dockyard.doctor.image import read_image

    for name in names:
        started = time.perf_counter()
        findings = check_image(read_image(name))
        print(f"{name}: {time.perf_counter() - started:.1f} s, {len(findings)} findings")


def _no_prefilter(self: Detector, text: str) -> Iterator[re.Match[str]]:
    return self.pattern.finditer(text)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--no-prefilter" in args:  # every pattern over every text, as before the needles
        args.remove("--no-prefilter")
        Detector.finditer = _no_prefilter  # type: ignore[method-assign]
    images(args) if args else sources()
