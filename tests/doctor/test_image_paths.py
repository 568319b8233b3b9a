"""Layer member names: a root-level dotfile or whiteout keeps its leading dot (issue 18)."""

from __future__ import annotations

import io

from dockyard.doctor import check_image
from dockyard.doctor.image import read_saved_image
from tests.doctor.imagetar import saved_image_bytes

NETRC = "machine pypi.internal.example\nlogin deploy\npassword 9fQ2xL7mW4pZ8vR3\n"


def _image(layers: list[dict[str, object]]) -> object:
    return read_saved_image(io.BytesIO(saved_image_bytes({"layers": layers})), "paths")


def test_root_dotfiles_keep_their_name() -> None:
    image = _image([{"files": {".netrc": NETRC, "./.env": "A=1\n", "./etc/hosts": "x"}}])
    assert sorted(f.path for f in image.files) == [".env", ".netrc", "etc/hosts"]  # type: ignore[attr-defined]


def test_root_netrc_is_a_secret_and_its_whiteout_marks_it_deleted() -> None:
    image = _image([{"files": {".netrc": NETRC}}, {"files": {".wh..netrc": ""}}])
    leaks = [f for f in check_image(image) if f.rule == "DY306"]  # type: ignore[arg-type]
    assert len(leaks) == 1
    assert leaks[0].message.startswith("/.netrc in layer 0 (deleted in layer 1")
