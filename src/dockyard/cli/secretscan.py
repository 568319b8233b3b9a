"""The build's secret scan: the doctor's detectors applied to each file of the build context.

Known token formats are looked for in every text file; `NAME=value` assignments and bearer
tokens only in config-like files, where (unlike code) a secret-named value is a value.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from dockyard.detect import secrets
from dockyard.errors import BuildError
from dockyard.image.context import AppFiles, secret_files
from dockyard.spec import Spec

CONFIG_SUFFIXES = frozenset(
    {".txt", ".env", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".conf", ".properties", ""}
)


def detect(name: str, text: str) -> str | None:
    """The kind of the first secret in the file, or None."""
    hits = (
        secrets.find_in_command(text)
        if PurePosixPath(name).suffix.lower() in CONFIG_SUFFIXES
        else secrets.find_in_text(text)
    )
    return next((hit.kind for hit in hits), None)


def refuse_secrets(spec: Spec, root: Path, app: AppFiles) -> None:
    """No file holding a secret enters the image unless the spec allows it by name."""
    leaks = secret_files(root, app.files, detect, spec.build.allow_files)
    if leaks:
        raise BuildError(
            "refusing to build: these files would be copied into the image and hold secrets:\n  "
            + "\n  ".join(leaks)
            + "\nMove them out of the project or add them to build.exclude; give real secrets "
            "with --secret NAME=FILE (docs/secrets.md); a file that is no real secret (a test "
            "key) may be listed in build.allow_files"
        )
