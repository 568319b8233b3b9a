"""Requirement lines and wheel names are read as pip reads them (`packaging`), never dropped."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from dockyard.errors import BuildError
from dockyard.image.lock import entry_for
from dockyard.image.resolve import host_pins, requirement_names


def test_extras_markers_and_urls_keep_their_name() -> None:
    lines = [
        "packaging[extra]>=20  # comment",
        "uvloop>=0.19; sys_platform != 'win32'",
        "Typer_Slim @ https://example.invalid/typer_slim-0.1-py3-none-any.whl",
        "-r other.txt",
        "# a comment",
        "",
    ]
    assert requirement_names(lines) == ["packaging", "uvloop", "typer-slim"]


def test_host_pins_keep_requirements_with_extras() -> None:
    assert host_pins(["packaging[extra]>=20"]) == (f"packaging=={version('packaging')}",)


def test_a_malformed_requirement_is_refused_not_dropped() -> None:
    with pytest.raises(BuildError, match="numpy=>2"):
        requirement_names(["numpy=>2"])


def test_wheel_and_sdist_names_are_normalised() -> None:
    wheel = entry_for("Zope.Interface-6.0-cp311-cp311-manylinux_2_28_x86_64.whl", "x")
    assert (wheel.name, wheel.version) == ("zope-interface", "6.0")
    assert entry_for("torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl", "x").version == "2.13.0+cpu"
    sdist = entry_for("my_pkg-1.0.tar.gz", "x")
    assert (sdist.name, sdist.version, sdist.is_sdist) == ("my-pkg", "1.0", True)
    with pytest.raises(ValueError, match="not a wheel"):
        entry_for("notes.txt", "x")


def test_a_package_the_project_keeps_off_the_local_version_is_not_pinned_to_it() -> None:
    """The example gateway pins httpx==0.28.1; a machine with a newer httpx must still lock it."""
    local = version("packaging")
    assert host_pins(["packaging>=20"], ["packaging==1.0  # the project's own pin"]) == ()
    assert host_pins(["packaging>=20"], [f"packaging>={local}", "-r other.txt"]) == (
        f"packaging=={local}",
    )
    assert host_pins(["packaging>=20"], ["numpy==1.0"]) == (f"packaging=={local}",)


def test_a_hashed_pinned_file_of_the_project_is_read_for_its_pins() -> None:
    """`dependencies.lock` keeps hashes: continuation lines and `--hash` options (pip-compile's
    output) must not stop the build, and its pin still wins over the local version."""
    hashed = ["packaging==1.0 \\", "    --hash=sha256:" + "a" * 64, "    # via -r in.txt"]
    assert host_pins(["packaging>=20"], hashed) == ()
    assert host_pins(["packaging>=20"], ["not a requirement ==="]) != ()  # pip names that one
