"""Spec loading: good specs load; bad ones report every problem with file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dockyard.errors import SpecError
from dockyard.spec import format_size, load_spec, parse_size, runs_in_container

GOOD = """
[project]
name = "demo"

[model]
entrypoint = "model:Demo"

[serving]
max_batch_size = 8
max_body_bytes = "2m"

[resources]
memory = "1g"
shm = "256m"
"""


def write(root: Path, text: str, name: str = "dockyard.toml") -> Path:
    (root / name).write_text(text)
    (root / "model.py").write_text("")
    return root


def test_good_spec_loads_with_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.project.name == "demo"
    assert spec.serving.max_batch_size == 8
    assert spec.serving.max_body_bytes == 2 * 1024**2
    assert spec.resources.memory == 1024**3
    assert spec.serving.port == 8000
    assert spec.model_name == "demo"


def test_spec_is_frozen(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    with pytest.raises(ValidationError, match="frozen_instance"):
        spec.project.name = "other"  # type: ignore[misc]
    assert spec.project.name == "demo"


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    bad = """
[project]
name = "Bad Name"
python = "2.7"

[model]
entrypoint = "no-colon"

[serving]
port = 70000
max_batch_sise = 4

[resources]
memory = "lots"

[health]
golden = "missing.jsonl"
"""
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, bad))
    problems = {p.key: p for p in caught.value.problems}
    assert set(problems) >= {
        "project.name",
        "project.python",
        "model.entrypoint",
        "serving.port",
        "serving.max_batch_sise",
        "resources.memory",
    }
    assert "health.golden" not in problems, "`dockyard golden` writes it; serve only warns"
    assert all(p.file.endswith("dockyard.toml") for p in problems.values())
    assert "'module:Class'" in problems["model.entrypoint"].expected
    assert "less than or equal to 65535" in problems["serving.port"].expected
    assert "unknown key" in problems["serving.max_batch_sise"].found
    assert "512m" in problems["resources.memory"].expected
    message = str(caught.value)
    assert "6 problem(s)" in message and "serving.port: found 70000" in message


def test_missing_required_keys(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, "[project]\nname = 'x'\n"))
    assert [(p.key, p.found) for p in caught.value.problems] == [("model", "nothing")]


def test_missing_model_module_is_reported(tmp_path: Path) -> None:
    (tmp_path / "dockyard.toml").write_text(
        '[project]\nname="x"\n[model]\nentrypoint="nowhere:M"\n'
    )
    with pytest.raises(SpecError, match=r"model.entrypoint.*nowhere.py"):
        load_spec(tmp_path)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"dockyard.toml: \(syntax\).*valid TOML"):
        load_spec(write(tmp_path, "[project\nname="))


def test_no_spec_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="dockyard init"):
        load_spec(tmp_path)


def test_pyproject_tool_table(tmp_path: Path) -> None:
    text = GOOD.replace("[project]", "[tool.dockyard.project]").replace(
        "[model]", "[tool.dockyard.model]"
    )
    text = text.replace("[serving]", "[tool.dockyard.serving]").replace(
        "[resources]", "[tool.dockyard.resources]"
    )
    spec = load_spec(write(tmp_path, text, "pyproject.toml"))
    assert spec.project.name == "demo"


def test_pyproject_errors_carry_the_tool_prefix(tmp_path: Path) -> None:
    write(
        tmp_path,
        "[tool.dockyard.project]\nname='x'\n[tool.dockyard.model]\nentrypoint='model:M'\n"
        "[tool.dockyard.serving]\nport='http'\n",
        "pyproject.toml",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    assert caught.value.problems[0].key == "tool.dockyard.serving.port"


def test_artifact_checks(tmp_path: Path) -> None:
    text = GOOD + '\n[[artifacts]]\nname = "w"\npath = "w.bin"\nsha256 = "xyz"\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, text))
    keys = {p.key for p in caught.value.problems}
    assert keys == {"artifacts.0.sha256", "artifacts.0.path"}


def test_volume_artifact_may_be_absent_at_load(tmp_path: Path) -> None:
    text = GOOD + '\n[[artifacts]]\nname = "w"\npath = "w.bin"\nmode = "volume"\n'
    spec = load_spec(write(tmp_path, text))
    assert spec.artifacts[0].container_path == "/models/w"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512m", 512 * 1024**2),
        ("2g", 2 * 1024**3),
        ("1.5GiB", int(1.5 * 1024**3)),
        (1000, 1000),
        ("64k", 65536),
    ],
)
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


def test_format_size_round_trips() -> None:
    for value in ("512m", "2g", "64k"):
        assert format_size(parse_size(value)) == value
    assert format_size(1000) == "1000b"


@pytest.mark.parametrize("value", ["big", -1, True, "12q"])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_examples_load() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    for name in ("digits", "embed"):
        assert load_spec(root / name).project.name == name


def test_in_container_skips_build_time_files(tmp_path: Path) -> None:
    text = GOOD + '\n[dependencies]\nrequirements = "gone.txt"\n'
    text += '\n[[artifacts]]\nname = "w"\npath = "w.bin"\n'
    with pytest.raises(SpecError):
        load_spec(write(tmp_path, text), in_container=False)
    assert load_spec(tmp_path, in_container=True).dependencies.requirements == "gone.txt"


def test_load_spec_never_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image's entry point passes in_container; a bare call is the host's, whatever is set."""
    monkeypatch.setenv("DOCKYARD_IN_CONTAINER", "1")
    write(tmp_path, GOOD + '\n[dependencies]\nrequirements = "gone.txt"\n')
    with pytest.raises(SpecError):
        load_spec(tmp_path)
    assert runs_in_container({"DOCKYARD_IN_CONTAINER": "1"})
    assert not runs_in_container({}) and not runs_in_container({"DOCKYARD_IN_CONTAINER": "0"})
