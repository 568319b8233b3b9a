"""The build's secret scan: the doctor's detectors applied to each file of the build context.

Known token formats are looked for in every text file; `NAME=value` assignments and bearer
tokens only in config-like files, where (unlike code) a secret-named value is a value.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from dockyard.doctor import secrets

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
