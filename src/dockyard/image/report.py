"""The final build report: image id, total size, size per layer, what fills the biggest ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.image.engine import Layer

# What a layer holds, recognised from the instruction that created it.
_KNOWN = (
    # dockyard's own layer first: it also lands under /opt/venv, straight in site-packages
    ("/site-packages", "dockyard itself"),
    (" in /opt/venv", "the virtual environment (dependencies)"),
    (" in /models/", "a baked artifact"),
    (" in /app/", "the application code and spec"),
    ("/etc/passwd", "the runtime user"),
    ("apt-get", "system packages"),
)


@dataclass(frozen=True)
class BuildReport:
    """Numbers of one built image; `base_layers` counts the base image's own history entries."""

    image_id: str
    tag: str
    size: int
    base_size: int
    layers: tuple[Layer, ...]
    base_layers: int
    packages: tuple[tuple[str, int], ...] = ()
    skipped: tuple[str, ...] = ()
    stripped: tuple[int, int] = (0, 0)  # bytes and folders the build stage left out

    @property
    def own_size(self) -> int:
        """Bytes above the base image."""
        return self.size - self.base_size


def describe(layer: Layer) -> str:
    """A human name for what a layer holds."""
    for marker, name in _KNOWN:
        if marker in layer.created_by:
            return name
    return layer.created_by.replace("/bin/sh -c #(nop) ", "").strip()[:70]


def parse_du(output: str) -> tuple[tuple[str, int], ...]:
    """`du -sk` lines (KiB, path) -> (package, bytes), biggest first."""
    rows = []
    for line in output.splitlines():
        size, _, path = line.partition("\t")
        if size.strip().isdigit() and path:
            rows.append((path.rsplit("/", 1)[-1], int(size) * 1024))
    return tuple(sorted(rows, key=lambda r: -r[1]))


_STRIPPED = re.compile(r"^dockyard-strip: (\d+) bytes in (\d+) folders$", re.M)


def parse_stripped(output: str) -> tuple[int, int]:
    """The strip step's record, `dockyard-strip: N bytes in M folders` -> (N, M); else (0, 0)."""
    match = _STRIPPED.search(output)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def render_report(report: BuildReport, top: int = 8) -> str:
    """Text for the terminal: totals, then every layer above the base, then the biggest packages."""
    lines = [
        f"image    {report.tag}  ({report.image_id[:19]})",
        f"size     {_mb(report.size)} total = {_mb(report.base_size)} base"
        f" + {_mb(report.own_size)} own",
        "layers above the base (newest first):",
    ]
    own = report.layers[: len(report.layers) - report.base_layers]
    for layer in own:
        if layer.size:
            lines.append(f"  {_mb(layer.size):>10}  {describe(layer)}")
    freed, folders = report.stripped
    if freed:
        lines.append(
            f"stripped {_mb(freed)} of tests, docs and examples ({folders} folders nothing imports)"
        )
    if report.packages:
        lines.append("biggest packages in the venv:")
        lines += [f"  {_mb(size):>10}  {name}" for name, size in report.packages[:top]]
    if report.skipped:
        lines.append(
            "left out as large undeclared files (declare them in build.include or artifacts):"
        )
        lines += [f"  {path}" for path in report.skipped]
    return "\n".join(lines)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
