"""The build stage's strip: unimported tests/docs/examples go, anything imported stays."""

from __future__ import annotations

from pathlib import Path

from dockyard.image.report import parse_stripped
from dockyard.image.strip import main

FILES = {
    "pkg/__init__.py": "from pkg import core\n",
    "pkg/core.py": "import os\n",
    "pkg/tests/test_core.py": "x = 1\n" * 100,
    "pkg/docs/index.txt": "docs\n" * 100,
    "pkg/testing/__init__.py": "def assert_close(a, b): ...\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/mod.py": "from .tests import helpers\n",
    "pkg/sub/tests/helpers.py": "y = 2\n",
    "pkg/deep/a/b.py": "from ..examples import demo\n",
    "pkg/deep/examples/demo.py": "z = 3\n",
    "lazy/__init__.py": 'import importlib\nm = importlib.import_module("lazy.test")\n',
    "lazy/test/__init__.py": "",
    "tests/__init__.py": "",
    "six.py": "",
}


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    for name, text in FILES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    return site


def test_strip_removes_only_unimported_junk(tmp_path: Path) -> None:
    site = _site(tmp_path)
    main([str(tmp_path / "venv")])
    left = sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())
    gone = {"pkg/tests/test_core.py", "pkg/docs/index.txt"}
    assert left == sorted(set(FILES) - gone)


def test_strip_records_the_bytes_it_freed(tmp_path: Path) -> None:
    _site(tmp_path)
    main([str(tmp_path / "venv")])
    record = (tmp_path / "venv" / ".dockyard-stripped").read_text()
    assert parse_stripped(record) == (len("x = 1\n") * 100 + len("docs\n") * 100, 2)
