"""Images serve the real Swagger UI: its static files travel in the wheel dockyard makes of
itself, so swagger-ui-py (and its Jinja2, PyYAML, packaging) never enter an image."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dockyard.image.builder import running_dockyard_wheel
from dockyard.image.swagger import FILES, WHEEL_DIR, swagger_files
from dockyard.runtime.openapi import SWAGGER_FILES

SERVED = """
import sys
from dockyard.runtime import openapi
folder = openapi.swagger_static()
page = openapi.docs_page("t")
print(folder)
print("swagger-ui-bundle.js" in page)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("jinja2", "swagger_ui", "yaml")))
"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The running dockyard's wheel, unzipped as pip would lay it out in site-packages."""
    root = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(io.BytesIO(running_dockyard_wheel().data)).extractall(root)
    return root


def test_the_wheel_carries_every_file_the_docs_route_serves(unpacked: Path) -> None:
    carried = {p.name for p in (unpacked / WHEEL_DIR).iterdir()}
    assert carried == set(FILES)
    assert set(SWAGGER_FILES) <= carried  # what /docs/static/{name} may answer
    assert "LICENSE" in carried  # Apache-2.0: the notice travels with the files
    for name, data in swagger_files().items():
        assert (unpacked / name).read_bytes() == data


def test_the_wheel_depends_on_neither_swagger_ui_py_nor_jinja(unpacked: Path) -> None:
    metadata = next(unpacked.glob("dockyard-*.dist-info")) / "METADATA"
    requires = [x for x in metadata.read_text().splitlines() if x.startswith("Requires-Dist")]
    assert requires and not [r for r in requires if "swagger" in r.lower() or "jinja" in r.lower()]


def test_the_runtime_serves_the_bundled_files_without_importing_swagger_ui(
    unpacked: Path,
) -> None:
    """Run from the unpacked wheel (first on the path): the bundled folder wins, no Jinja loads."""
    done = subprocess.run(
        [sys.executable, "-c", SERVED],
        env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    folder, swagger_page, imported = done.stdout.splitlines()
    assert Path(folder) == unpacked / WHEEL_DIR
    assert swagger_page == "True"
    assert imported == "[]"
