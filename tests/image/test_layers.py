"""Normalized layer tars (image.layers): the same files give the same bytes, whatever the clock,
owners, modes, order or extended headers of the tar they came in."""

from __future__ import annotations

import hashlib
import io
import tarfile

from dockyard.image.layers import moved, normalize

EPOCH = 1_767_225_600  # 2026-01-01


def _tar(
    members: list[tuple[str, bytes | None]], *, mtime: int, uid: int, mode: int, xattr: bool
) -> io.BytesIO:
    """An engine-like archive rooted at `venv`: files (bytes) and directories (None)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname = mtime, uid, uid, "builder"
            if xattr:
                info.pax_headers = {"SCHILY.xattr.user.stamp": str(mtime)}
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o775
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), mode if "/bin/" in name else mode & ~0o111
                tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


FILES: list[tuple[str, bytes | None]] = [
    ("venv", None),
    ("venv/lib", None),
    ("venv/lib/a.py", b"a = 1\n"),
    ("venv/bin/tool", b"#!/opt/venv/bin/python\n"),
    ("venv/pyvenv.cfg", b"home = /usr/bin\n"),
]


def _layer(source: io.BytesIO) -> tuple[bytes, str]:
    out = io.BytesIO()
    written = normalize(source, out, moved("venv", "/opt/venv"), EPOCH)
    assert written.size == len(out.getvalue())
    return out.getvalue(), written.diff_id


def test_same_files_give_the_same_layer_whatever_the_build_stamped() -> None:
    first = _tar(FILES, mtime=1_800_000_000, uid=1000, mode=0o664, xattr=True)
    second = _tar(list(reversed(FILES)), mtime=1_900_000_000, uid=0, mode=0o644, xattr=False)
    (data_one, id_one), (data_two, id_two) = _layer(first), _layer(second)
    assert data_one == data_two
    assert id_one == id_two == f"sha256:{hashlib.sha256(data_one).hexdigest()}"


def test_a_changed_file_changes_the_layer() -> None:
    changed = [(n, b"a = 2\n" if n == "venv/lib/a.py" else d) for n, d in FILES]
    same = _tar(FILES, mtime=0, uid=0, mode=0o644, xattr=False)
    other = _tar(changed, mtime=0, uid=0, mode=0o644, xattr=False)
    assert _layer(same)[1] != _layer(other)[1]


def test_entries_are_sorted_root_owned_at_the_epoch_under_the_destination() -> None:
    data, _ = _layer(_tar(FILES, mtime=5, uid=1000, mode=0o775, xattr=True))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    # parents the source left out (opt, opt/venv/bin) are written too, not left to the engine
    assert names == [
        "opt",
        "opt/venv",
        "opt/venv/bin",
        "opt/venv/bin/tool",
        "opt/venv/lib",
        "opt/venv/lib/a.py",
        "opt/venv/pyvenv.cfg",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(EPOCH, 0, 0, "", "")}
    modes = {m.name: m.mode for m in members}
    assert modes["opt/venv/bin/tool"] == 0o755 and modes["opt/venv/pyvenv.cfg"] == 0o644
    assert modes["opt/venv/lib"] == 0o755
    assert not any(m.pax_headers for m in members)


def test_hard_links_become_files_and_other_trees_are_left_out() -> None:
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:") as tar:
        for name, data in (("site/x.py", b"x\n"), ("other/y.py", b"y\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("site/x2.py")
        link.type, link.linkname = tarfile.LNKTYPE, "site/x.py"
        tar.addfile(link)
    source.seek(0)
    out = io.BytesIO()
    normalize(source, out, moved("site", "opt/venv/lib/python3.11/site-packages"), EPOCH)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        files = {m.name: m for m in tar.getmembers() if m.isfile()}
        copy = tar.extractfile(files["opt/venv/lib/python3.11/site-packages/x2.py"])
        assert copy is not None and copy.read() == b"x\n"
    assert not any("y.py" in name for name in files)


def test_moved_maps_the_top_entry_and_what_is_under_it_only() -> None:
    rename = moved("weights", "/models/weights")
    assert rename("weights") == "models/weights"
    assert rename("weights/part-1") == "models/weights/part-1"
    assert rename("weightsX") is None and rename("other") is None
