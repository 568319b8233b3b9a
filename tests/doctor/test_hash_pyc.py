"""DY109 and bytecode: timestamp caches are junk, hash-based pycs compiled on purpose are not."""

from __future__ import annotations

import importlib.util
import io

from dockyard.doctor import check_image
from dockyard.doctor.image import Image, read_saved_image
from tests.doctor.imagetar import saved_image_bytes

SITE = "opt/venv/lib/python3.11/site-packages/pkg/__pycache__"


def _image(flags: int) -> Image:
    head = (importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + bytes(8)).hex()
    files = {f"{SITE}/m{i}.cpython-311.pyc": {"size": 2**20, "head": head} for i in range(6)}
    description = {"history": [{"created_by": "RUN install"}], "layers": [{"files": files}]}
    return read_saved_image(io.BytesIO(saved_image_bytes(description)), "pyc")


def _junk(image: Image) -> list[str]:
    return [f.message for f in check_image(image) if f.rule == "DY109"]


def test_six_mib_of_timestamp_caches_are_junk() -> None:
    assert _junk(_image(flags=0)) == [
        "layer 0 (RUN install) holds 6.0 MiB of junk: __pycache__ 6.0 MiB"
    ]


def test_hash_based_bytecode_is_compiled_on_purpose() -> None:
    image = _image(flags=0b11)  # unchecked-hash, what `build.bytecode` writes
    assert all(f.hash_pyc for f in image.files)
    assert _junk(image) == []
    assert _junk(_image(flags=0b01)) == []  # checked-hash
