"""The arm64 venv takes the host image's compiled start-up modules, but only where the source
is the very file each was compiled from (issue 17, item 4)."""

from __future__ import annotations

import importlib.util
import py_compile
import tarfile
from pathlib import Path

from dockyard.image.multiarch.venv import copy_bytecode

SITE = "opt/venv/lib/python3.11/site-packages/pkg"
MODES = {
    "same": py_compile.PycInvalidationMode.UNCHECKED_HASH,
    "changed": py_compile.PycInvalidationMode.UNCHECKED_HASH,
    "stamped": py_compile.PycInvalidationMode.TIMESTAMP,
    "checked": py_compile.PycInvalidationMode.CHECKED_HASH,
}


def host_layer(tmp: Path) -> Path:
    """A venv layer as the build stage writes it: sources and their pycs under opt/venv."""
    root = tmp / "host"
    (root / SITE).mkdir(parents=True)
    for name, mode in MODES.items():
        source = root / SITE / f"{name}.py"
        source.write_text(f"VALUE = {name!r}\n")
        cache = importlib.util.cache_from_source(str(source))
        py_compile.compile(str(source), cache, f"/{SITE}/{name}.py", invalidation_mode=mode)
    layer = tmp / "venv.tar"
    with tarfile.open(layer, "w") as tar:
        tar.add(root / "opt", arcname="opt")
    return layer


def test_only_pycs_of_identical_sources_are_copied(tmp_path: Path) -> None:
    layer = host_layer(tmp_path)
    staging = tmp_path / "staging"
    (staging / SITE).mkdir(parents=True)
    for name in MODES:  # the other platform's wheels: one module's source differs
        text = "VALUE = 'arm64'\n" if name == "changed" else f"VALUE = {name!r}\n"
        (staging / SITE / f"{name}.py").write_text(text)

    assert copy_bytecode(layer, staging) == 1

    cached = {p.name.split(".")[0] for p in (staging / SITE / "__pycache__").iterdir()}
    assert cached == {"same"}
    host_pyc = importlib.util.cache_from_source(str(tmp_path / "host" / SITE / "same.py"))
    staged_pyc = importlib.util.cache_from_source(str(staging / SITE / "same.py"))
    assert Path(staged_pyc).read_bytes() == Path(host_pyc).read_bytes()


def test_a_pyc_without_its_source_is_not_copied(tmp_path: Path) -> None:
    layer = host_layer(tmp_path)
    staging = tmp_path / "staging"
    staging.mkdir()  # a package the other platform does not have

    assert copy_bytecode(layer, staging) == 0
    assert not (staging / SITE).exists()
