"""A wheel of the dockyard the user is running, so the container serves the same code.

Built from the imported package's own files (editable checkout or installed wheel alike), with
only the runtime's dependencies in its metadata. The zip is deterministic, so an unchanged
dockyard gives identical bytes and its image layer is reused.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement

from dockyard.errors import BuildError

_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SelfWheel:
    """The wheel's file name and bytes."""

    filename: str
    data: bytes


def runtime_requirements(package_dir: Path) -> tuple[str, ...]:
    """The `serve` extra: from the installed metadata, else from the source tree's pyproject."""
    try:
        reqs = importlib.metadata.requires("dockyard") or []
        serve = [line for line in map(in_serve_extra, reqs) if line is not None]
        if serve:
            return tuple(serve)
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = package_dir.parent.parent / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        return tuple(data["project"]["optional-dependencies"]["serve"])
    raise BuildError("cannot find dockyard's `serve` requirements (reinstall dockyard)")


def in_serve_extra(line: str) -> str | None:
    """The requirement if the `serve` extra asks for it, without that marker clause; else None.

    'uvloop>=0.19; sys_platform != "win32" and extra == "serve"' -> 'uvloop>=0.19;
    sys_platform != "win32"'. packaging parses the line; it has no public call that drops one
    clause of a marker, so the parsed clauses are walked here (only `and` chains name an extra).
    """
    req = Requirement(line)
    if req.marker is None:
        return None
    clauses: list[Any] = list(req.marker._markers)
    if "or" in clauses:
        raise BuildError(f"cannot read dockyard's requirement {line!r}: an `or` in its marker")
    kept = [c for c in clauses if not _is_serve(c)]
    if len(kept) == len(clauses):
        return None
    while kept and kept[0] in ("and", "or"):
        kept.pop(0)
    while kept and kept[-1] in ("and", "or"):
        kept.pop()
    kept = [c for i, c in enumerate(kept) if not (c == "and" and i and kept[i - 1] == "and")]
    req.marker = Marker(_text(kept)) if kept else None
    return str(req)


def _is_serve(clause: Any) -> bool:
    if not isinstance(clause, tuple):
        return False
    names = {getattr(part, "value", None) for part in (clause[0], clause[2])}
    return clause[1].value == "==" and names == {"extra", "serve"}


def _text(clauses: list[Any]) -> str:
    """Parsed marker clauses back to marker text (nested lists are parenthesised groups)."""
    parts = []
    for clause in clauses:
        if isinstance(clause, str):
            parts.append(clause)
        elif isinstance(clause, list):
            parts.append(f"({_text(clause)})")
        else:
            parts.append(" ".join(part.serialize() for part in clause))
    return " ".join(parts)


def build_self_wheel(
    package_dir: Path,
    version: str,
    requires: tuple[str, ...],
    extra: Mapping[str, bytes] | None = None,
) -> SelfWheel:
    """Zip `package_dir` (minus caches) and `extra` files with a dist-info naming `requires`."""
    dist_info = f"dockyard-{version}.dist-info"
    files = {
        f"dockyard/{p.relative_to(package_dir).as_posix()}": p.read_bytes()
        for p in sorted(package_dir.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    }
    files.update(sorted((extra or {}).items()))
    files[f"{dist_info}/METADATA"] = _metadata(version, requires).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: dockyard\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    return SelfWheel(f"dockyard-{version}-py3-none-any.whl", _zip(files))


def _metadata(version: str, requires: tuple[str, ...]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        "Name: dockyard",
        f"Version: {version}",
        "Requires-Python: >=3.10",
    ]
    return "\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
