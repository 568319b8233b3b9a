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
import re
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import BuildError

_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXTRA = re.compile(r"""^(?P<req>[^;]+?)\s*;\s*(?P<rest>.*)$""")


@dataclass(frozen=True)
class SelfWheel:
    """The wheel's file name and bytes."""

    filename: str
    data: bytes


def runtime_requirements(package_dir: Path) -> tuple[str, ...]:
    """The `serve` extra: from the installed metadata, else from the source tree's pyproject."""
    try:
        reqs = importlib.metadata.requires("dockyard") or []
        serve = [
            _strip_extra(r) for r in reqs if 'extra == "serve"' in r or "extra == 'serve'" in r
        ]
        if serve:
            return tuple(serve)
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = package_dir.parent.parent / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        return tuple(data["project"]["optional-dependencies"]["serve"])
    raise BuildError("cannot find dockyard's `serve` requirements (reinstall dockyard)")


def _strip_extra(req: str) -> str:
    """'uvloop>=0.19; sys_platform != "win32" and extra == "serve"' -> without the extra marker."""
    match = _EXTRA.match(req)
    if not match:
        return req
    rest = re.sub(r"\s*(and\s+)?extra\s*==\s*['\"]serve['\"]", "", match.group("rest")).strip()
    return f"{match.group('req')}; {rest}" if rest else match.group("req")


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
