"""Remove the tests, docs and examples of installed packages that nothing else imports.

Runs in the build stage as a script (`python .../dockyard/image/strip.py /opt/venv`), on the
standard library only. A folder is kept when any module outside the stripped folders imports
it (`numpy.testing`-style helpers are never candidates; a package that imports its own `tests`
keeps them). Prints one line, `dockyard-strip: <bytes> bytes in <n> folders`, and records
it in `STRIPPED_RECORD`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

JUNK_NAMES = frozenset({"tests", "test", "docs", "doc", "examples"})
STRIPPED_RECORD = ".dockyard-stripped"
_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+([\w\s,()*]+)|import\s+([\w.]+))", re.M)
_QUOTED = re.compile(r"[\"']([A-Za-z_]\w*(?:\.\w+)+)[\"']")  # importlib.import_module("a.b")


def candidates(site: Path) -> list[Path]:
    """Junk-named folders inside a package (never a top-level one: that would be a package)."""
    found: list[Path] = []
    for folder, dirs, _ in os.walk(site):
        here = Path(folder)
        for name in sorted(dirs):
            if name in JUNK_NAMES and here != site and not here.name.endswith(".dist-info"):
                found.append(here / name)
        dirs[:] = [d for d in dirs if d not in JUNK_NAMES]
    return found


def _module(site: Path, path: Path) -> str:
    """`site/a/b/c.py` -> `a.b.c`; `site/a/b` -> `a.b`; `site` -> ``."""
    parts = path.relative_to(site).parts
    if parts and parts[-1].endswith(".py"):
        parts = (*parts[:-1], parts[-1][:-3])
    return ".".join(parts)


def _imports(site: Path, source: Path) -> set[str]:
    """Absolute dotted names `source` imports (relative imports resolved), with their parents."""
    try:
        text = source.read_text(errors="replace")
    except OSError:
        return set()
    package = _module(site, source.parent)
    names = set(_QUOTED.findall(text))
    for match in _IMPORT.finditer(text):
        base, members, plain = match.groups()
        if plain:
            names.add(plain)
            continue
        dots = len(base) - len(base.lstrip("."))
        root = package.rsplit(".", dots - 1)[0] if dots > 1 else package
        absolute = (f"{root}.{base.lstrip('.')}" if dots else base).rstrip(".")
        names.add(absolute)
        names.update(f"{absolute}.{m.strip('() ')}" for m in members.split(",") if m.strip())
    return {prefix for name in names for prefix in _prefixes(name)}


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def imported(site: Path, junk: list[Path]) -> set[Path]:
    """The junk folders some module outside the junk imports."""
    inside = tuple(str(j) + os.sep for j in junk)
    wanted: set[str] = set()
    for source in site.rglob("*.py"):
        if not str(source).startswith(inside):
            wanted |= _imports(site, source)
    return {j for j in junk if _module(site, j) in wanted}


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def strip(site: Path) -> tuple[int, int]:
    """Delete unimported junk folders under `site`; (bytes freed, folders removed)."""
    junk = candidates(site)
    keep = imported(site, junk)
    for folder in sorted(keep):
        print(f"dockyard-strip: kept {folder.relative_to(site)} (imported)")
    freed = removed = 0
    for folder in junk:
        if folder not in keep:
            freed += _size(folder)
            removed += 1
            shutil.rmtree(folder)
    return freed, removed


def main(argv: list[str]) -> int:
    """`strip.py VENV`: strip every site-packages of the venv."""
    venv = Path(argv[0])
    freed = removed = 0
    for site in sorted(venv.glob("lib/python*/site-packages")):
        done = strip(site)
        freed, removed = freed + done[0], removed + done[1]
    line = f"dockyard-strip: {freed} bytes in {removed} folders"
    (venv / STRIPPED_RECORD).write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
