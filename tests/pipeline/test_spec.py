"""The pipeline table: stage names, and the problems found before any stage starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dockyard.errors import SpecError
from dockyard.runtime.pipeline.stage import check_modules, stage_dirs
from dockyard.spec.pipeline import Pipeline, Stage
from tests.pipeline.conftest import make_pipeline


def test_stage_names_are_unique_and_front_is_reserved() -> None:
    with pytest.raises(ValidationError, match="unique"):
        Pipeline(stages=(Stage(name="a", path="x"), Stage(name="a", path="y")))
    with pytest.raises(ValidationError, match="front"):
        Pipeline(stages=(Stage(name="front", path="x"),))
    with pytest.raises(ValidationError, match="pattern"):
        Stage(name="Bad_Name", path="x")


def test_order_and_next_stage() -> None:
    p = Pipeline(stages=(Stage(name="a", path="x"), Stage(name="b", path="y")))
    assert p.next_of("a") == p.stage("b") and p.next_of("b") is None


def test_every_missing_stage_directory_is_reported_at_once(tmp_path: Path) -> None:
    p = Pipeline(stages=(Stage(name="a", path="nope"), Stage(name="b", path="gone")))
    with pytest.raises(SpecError) as caught:
        stage_dirs(p, tmp_path, "dockyard.toml")
    assert [x.key for x in caught.value.problems] == [
        "pipeline.stages.0.path", "pipeline.stages.1.path",
    ]  # fmt: skip


def test_stages_sharing_a_module_name_cannot_share_a_process(tmp_path: Path) -> None:
    root = make_pipeline(tmp_path, [("shout", {}), ("length", {})])
    (root / "stages" / "length" / "dockyard.toml").write_text(
        '[project]\nname = "x"\n[model]\nentrypoint = "shout:Shout"\n'
    )
    (root / "stages" / "length" / "shout.py").write_text("")
    with pytest.raises(SpecError, match="module name other than stage 'shout'"):
        check_modules({"shout": root / "stages" / "shout", "length": root / "stages" / "length"})
