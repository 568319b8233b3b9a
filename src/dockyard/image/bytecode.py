"""Compile ahead of time the bytecode of what the server imports on its way to ready.

Runs in the build stage on the standard library only, as a module with Dockyard on the path:
`PYTHONPATH=SELF python -m dockyard.image.bytecode VENV SELF SITE runtime|all` (run as a script,
its folder would come first on the path, and `image/secrets.py` would shadow the standard one).

An image keeps no caches of its own (the root filesystem is read-only), so without them every
start compiles every module again: in a `dockyard init` image that was 38% of the CPU spent
importing the service (455 vs 282 ms). `runtime` compiles the modules the service imports
(Dockyard's own and its server stack), so the image grows only by what start-up uses; `all`
compiles every module of the venv too (the model's libraries import faster; the image is
bigger). The caches are `unchecked-hash` pycs: no timestamps, so two builds give the same bytes,
and never checked against the source, which nothing in an image changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import py_compile
import sys
from pathlib import Path

# The service's way to ready; uvicorn picks its loop and protocol modules by name at run time.
STARTUP = (
    "dockyard.runtime.__main__",
    "dockyard.runtime.server",
    "dockyard.runtime.app",
    "dockyard.runtime.worker",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.lifespan.on",
)
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def compile_file(source: Path, shown_as: Path) -> None:
    """Write `source`'s pyc beside it; tracebacks name `shown_as` (where it lives at run time)."""
    cache = importlib.util.cache_from_source(str(source))
    py_compile.compile(str(source), cache, str(shown_as), doraise=True, invalidation_mode=UNCHECKED)


def imported_files(modules: tuple[str, ...]) -> set[Path]:
    """The source files of everything importing `modules` loads (missing ones are skipped)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # e.g. the slow-path protocol when its package is not installed
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    return {Path(f) for f in files if f and f.endswith(".py")}


def main(venv: Path, own: Path, site: Path, scope: str) -> int:
    needed = imported_files(STARTUP)
    others = set(venv.rglob("*.py")) | set(own.rglob("*.py")) if scope == "all" else set()
    count = 0
    for source in sorted(needed | others):
        if not (source.is_relative_to(own) or source.is_relative_to(venv)):
            continue  # the base image's own files are not ours to change
        shown = site / source.relative_to(own) if source.is_relative_to(own) else source
        try:
            compile_file(source, shown)
        except py_compile.PyCompileError:
            if source in needed:
                raise
            continue  # a file never imported (a template, an old example) may not compile
        count += 1
    print(f"dockyard-bytecode: {count} modules ({scope})")
    return 0


if __name__ == "__main__":
    venv_dir, own_dir, site_dir, chosen = sys.argv[1:5]
    sys.exit(main(Path(venv_dir), Path(own_dir), Path(site_dir), chosen))
