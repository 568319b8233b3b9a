"""The platforms an image can be made for, and the names each tool gives the same machine."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass

from dockyard.errors import BuildError


@dataclass(frozen=True)
class Platform:
    """`linux/arm64` as OCI, wheels (`aarch64`), Debian (`arm64`) and ELF headers name it."""

    name: str
    architecture: str
    machine: str
    debian: str
    elf_machine: int
    variant: str = ""

    @property
    def slug(self) -> str:
        """`linux-arm64`: the platform in a file name."""
        return self.name.replace("/", "-")


AMD64 = Platform("linux/amd64", "amd64", "x86_64", "amd64", elf_machine=62)
ARM64 = Platform("linux/arm64", "arm64", "aarch64", "arm64", elf_machine=183, variant="v8")
KNOWN = {p.name: p for p in (AMD64, ARM64)}


def host() -> Platform:
    """The building machine's platform: the one its engine builds and can run."""
    machine = host_platform.machine()
    found = next((p for p in KNOWN.values() if p.machine == machine), None)
    if found is None:
        raise BuildError(f"this machine ({machine}) is none of {', '.join(KNOWN)}")
    return found


def others(listed: tuple[str, ...], building: Platform | None = None) -> tuple[Platform, ...]:
    """The platforms of `build.platforms` besides the building machine's (which must be listed:
    its image, built on the engine, lends the others its architecture-free layers)."""
    building = building or host()
    if not listed:
        return ()
    if building.name not in listed:
        raise BuildError(
            f"build.platforms = {list(listed)} leaves out this machine's {building.name}; "
            f"list it too: its image is built on the engine and lends the others the layers "
            "that do not depend on the architecture (the app, dockyard, artifacts)"
        )
    return tuple(KNOWN[name] for name in listed if name != building.name)


__all__ = ["AMD64", "ARM64", "KNOWN", "Platform", "host", "others"]
