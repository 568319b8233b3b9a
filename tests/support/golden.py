"""Golden files: compared, never written by the test that reads them (see docs/testing.md)."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE_VARIABLE = "DOCKYARD_UPDATE_GOLDEN"


def updating() -> bool:
    """True only for `DOCKYARD_UPDATE_GOLDEN=1`; any other non-empty value is a usage error."""
    value = os.environ.get(UPDATE_VARIABLE, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{UPDATE_VARIABLE}={value!r}: set it to 1 to rewrite goldens, else unset")
    return value == "1"


def assert_golden(path: Path, text: str) -> None:
    """Assert `text` equals the golden file at `path`; with DOCKYARD_UPDATE_GOLDEN=1, rewrite it."""
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    how = f"review the output, then run `{UPDATE_VARIABLE}=1 pytest <this test>` and commit it"
    assert path.exists(), f"golden file {path} is missing: {how}"
    golden = path.read_text(encoding="utf-8")
    assert text == golden, f"{path.name} changed; if the change is intended, {how}"
