"""A CycloneDX SBOM of a built image: its Python distributions and its OS packages.

What is *installed* in the image is the truth (read from the image itself); the lock adds the
sha256 of the exact file each Python distribution came from. The document is deterministic for
one image (serial number from the image id, timestamp from its creation), so the SBOM of a
release can be regenerated and compared.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from dockyard.errors import BuildError
from dockyard.image.engine import Engine
from dockyard.image.lock import Lock, LockEntry
from dockyard.image.plan import VENV

if TYPE_CHECKING:
    from cyclonedx.model.component import Component

MEDIA_TYPE = "application/vnd.cyclonedx+json"
SCHEMA = "1.6"  # CycloneDX specification version written and validated
# Prints one `name==version` line per distribution in the image's virtual environment.
_LIST_PYTHON = (
    "import importlib.metadata as m\n"
    "for d in m.distributions(): print(f\"{d.metadata['Name']}=={d.version}\")"
)


@dataclass(frozen=True, order=True)
class Package:
    """One installed package: `pypi` (the venv) or `deb` (the base image's dpkg database)."""

    kind: str
    name: str
    version: str


def installed(engine: Engine, image: str) -> list[Package]:
    """Every Python distribution and OS package installed in `image`, sorted."""
    python = engine.run_once(image, ["-c", _LIST_PYTHON], entrypoint=[f"{VENV}/bin/python"])
    dpkg = engine.run_once(image, ["/var/lib/dpkg/status"], entrypoint=["cat"])
    return sorted(parse_python(python) + parse_dpkg(dpkg))


def parse_python(text: str) -> list[Package]:
    found = []
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name:
            found.append(Package("pypi", canonicalize_name(name), version))
    return found


def parse_dpkg(text: str) -> list[Package]:
    """Installed packages of a dpkg status file (absent on non-Debian bases: none)."""
    found = []
    for stanza in text.split("\n\n"):
        fields = dict(_field(line) for line in stanza.splitlines() if ": " in line[:80])
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            found.append(Package("deb", fields["Package"], fields.get("Version", "")))
    return found


def render(
    name: str, version: str, image_id: str, created: str, packages: list[Package], lock: Lock | None
) -> str:
    """The SBOM as CycloneDX JSON (1.6), validated against the official schema."""
    # Imported here: the validator's dependencies take a second to import, and every other
    # `dockyard` command would pay for it.
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    schema = SchemaVersion.V1_6
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"dockyard:{image_id}"))
    bom.metadata.timestamp = datetime.fromisoformat(created.replace("Z", "+00:00"))
    root = Component(
        name=name,
        version=version,
        type=ComponentType.CONTAINER,
        bom_ref=image_id,
        properties=[Property(name="dev.dockyard:image-id", value=image_id)],
    )
    bom.metadata.component = root
    hashes = {str(canonicalize_name(e.name)): e for e in lock.entries} if lock else {}
    parts = [_component(package, hashes) for package in packages]
    bom.components.update(parts)
    bom.register_dependency(root, parts)
    text = make_outputter(bom, OutputFormat.JSON, schema).output_as_string(indent=2)
    if error := JsonStrictValidator(schema).validate_str(text):
        raise BuildError(f"the generated SBOM is not valid CycloneDX: {error}")
    return text


def components(text: str) -> dict[str, str]:
    """`purl -> version` of an SBOM's components, for comparing and for tests."""
    return {c["purl"]: c["version"] for c in json.loads(text).get("components", [])}


def _component(package: Package, locked: dict[str, LockEntry]) -> Component:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    entry = locked.get(package.name) if package.kind == "pypi" else None
    purl = PackageURL(type=package.kind, namespace="debian" if package.kind == "deb" else None,
                      name=package.name, version=package.version)  # fmt: skip
    hashes = []
    if entry is not None and entry.version == package.version:
        hashes = [HashType(alg=HashAlgorithm.SHA_256, content=entry.sha256)]
    return Component(
        name=package.name,
        version=package.version,
        type=ComponentType.LIBRARY if package.kind == "pypi" else ComponentType.APPLICATION,
        purl=purl,
        bom_ref=str(purl),
        hashes=hashes,
    )


def _field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(": ")
    return key.strip(), value.strip()
