"""Choosing the CPU or a CUDA build of torch in the spec, recorded and checked by the lock
(issue 10, item 10). Offline: the host's local wheel is torch 2.13.0+cpu."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from dockyard.errors import BuildError, SpecError
from dockyard.image.lock import (
    Lock,
    LockInputs,
    check_torch,
    entry_for,
    is_current,
    parse_lock,
    render_lock,
)
from dockyard.image.resolve import ensure_lock
from dockyard.image.wheelhouse import resolve, target_platforms
from dockyard.spec import Spec, load_spec

LOCAL_TORCH = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
SPEC = """
[project]
name = "embed"

[model]
entrypoint = "model:Embed"

[dependencies]
packages = ["torch==2.13.0"]
{extra}
"""


def spec_with(tmp_path: Path, extra: str) -> Spec:
    (tmp_path / "model.py").write_text("")
    (tmp_path / "dockyard.toml").write_text(SPEC.format(extra=extra))
    return load_spec(tmp_path)


def test_spec_names_the_torch_index(tmp_path: Path) -> None:
    deps = spec_with(tmp_path, 'torch = "cpu"').dependencies
    assert deps.indexes() == ("https://download.pytorch.org/whl/cpu",)
    mirror = 'torch = "cu124"\ntorch_index_url = "https://mirror.example/torch/cu124"\n'
    mirror += 'extra_index_urls = ["https://pypi.example/simple"]'
    deps = spec_with(tmp_path, mirror).dependencies
    assert deps.indexes() == ("https://mirror.example/torch/cu124", "https://pypi.example/simple")


def test_spec_refuses_an_unknown_build(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"dependencies\.torch"):
        spec_with(tmp_path, 'torch = "gpu"')


def test_lock_records_the_build_and_indexes() -> None:
    entry = entry_for(LOCAL_TORCH.name, "a" * 64)
    lock = Lock("d" * 64, "3.11", (entry,), torch="cpu", indexes=("file:///idx/cpu",))
    text = render_lock(lock)
    assert "# torch: cpu\n" in text and "# index: file:///idx/cpu\n" in text
    assert parse_lock(text) == lock
    assert entry.version == "2.13.0+cpu"


def test_choosing_a_build_changes_the_inputs_but_old_locks_stay_current() -> None:
    base = LockInputs(("torch==2.13.0",), (), (), "3.11", ("manylinux2014_x86_64",))
    cpu = LockInputs(base.requirements, (), (), "3.11", base.platforms, ("u",), "cpu")
    assert base.digest() != cpu.digest()
    old = Lock(base.digest(), "3.11", ())
    assert is_current(old, LockInputs(base.requirements, (), (), "3.11", base.platforms))


@pytest.mark.slow
@pytest.mark.skipif(not LOCAL_TORCH.is_file(), reason="needs the host's local torch wheel")
def test_resolution_locks_the_cpu_build_and_refuses_a_mismatch(tmp_path: Path) -> None:
    index = tmp_path / "torch-index"  # an empty local index stands in for the PyTorch one
    index.mkdir()
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n")
    entries = resolve(
        ["torch==2.13.0"],
        constraints,
        "3.11",
        target_platforms(),
        tmp_path / "wheels",
        (index.as_uri(),),
    )
    torch = next(e for e in entries if e.name == "torch")
    assert torch.version == "2.13.0+cpu"
    check_torch(entries, "cpu")
    with pytest.raises(ValueError, match=r"resolved torch 2.13.0\+cpu \(\+cpu\)"):
        check_torch(entries, "cu124")
    without = tuple(e for e in entries if e.name != "torch")
    with pytest.raises(ValueError, match="torch is not among the requirements"):
        check_torch(without, "cpu")


def fake_torch_index(root: Path, version: str) -> Path:
    """A PEP 503 index on disk holding one tiny `torch` wheel (no 700 MB download)."""
    name = f"torch-{version}-py3-none-any.whl"
    info = f"torch-{version}.dist-info"
    files = {
        "torch/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    (root / "torch").mkdir(parents=True)
    with zipfile.ZipFile(root / name, "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    href = f"../{name.replace('+', '%2B')}"
    (root / "torch" / "index.html").write_text(
        f'<html><body><a href="{href}">{name}</a></body></html>'
    )
    return root


@pytest.mark.slow
def test_ensure_lock_takes_torch_from_its_index_and_records_the_build(tmp_path: Path) -> None:
    """spec -> ensure_lock -> pip searches the torch index -> check_torch -> `# torch:` in the
    lock; a version only that index has proves pip was given it."""
    index = fake_torch_index(tmp_path / "torch-cpu", "0.0.1+cpu")
    root = tmp_path / "project"
    root.mkdir()
    extra = f'torch = "cpu"\ntorch_index_url = "{index.as_uri()}"'
    spec = spec_with(root, extra)
    deps = spec.dependencies.model_copy(update={"packages": ("torch==0.0.1",)})
    spec = spec.model_copy(update={"dependencies": deps})
    lock = ensure_lock(spec, root, lambda _: None)
    torch = next(e for e in lock.entries if e.name == "torch")
    assert torch.version == "0.0.1+cpu"
    text = (root / "dockyard.lock").read_text()
    assert "# torch: cpu\n" in text and f"# index: {index.as_uri()}\n" in text
    assert "torch==0.0.1+cpu" in text

    cuda = spec.model_copy(
        update={"dependencies": spec.dependencies.model_copy(update={"torch": "cu124"})}
    )
    with pytest.raises(BuildError, match=r"dependencies.torch = 'cu124', but the lock resolved"):
        ensure_lock(cuda, root, lambda _: None)
    assert "# torch: cpu\n" in (root / "dockyard.lock").read_text(), "the old lock stays"
