"""The model contract: type hints become the schema; bad contracts fail with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from dockyard import Model
from dockyard.errors import ModelError
from dockyard.runtime.contract import signature_of
from dockyard.runtime.loader import artifact_paths, load_model_class, verify_artifacts
from dockyard.runtime.runner import ModelRunner, PredictionError
from dockyard.spec import load_spec
from tests.fixtures.projects import make_project


class Out(BaseModel):
    label: int
    confidence: float


class Typed(Model[list[float], Out]):
    def predict(self, batch: list[list[float]]) -> list[Out]:
        return [Out(label=int(sum(x)), confidence=0.5) for x in batch]


def test_signature_from_type_hints() -> None:
    sig = signature_of(Typed)
    assert sig.input_schema() == {"items": {"type": "number"}, "type": "array"}
    assert sig.output_schema()["properties"]["label"] == {"title": "Label", "type": "integer"}
    assert not sig.has_preprocess and not sig.has_postprocess


def test_missing_hints_are_a_model_error() -> None:
    class Untyped(Model):  # type: ignore[type-arg]
        def predict(self, batch):  # type: ignore[no-untyped-def]
            return batch

    with pytest.raises(ModelError, match=r"predict\(self, batch: list\[In\]\) -> list\[Out\]"):
        signature_of(Untyped)


def test_non_list_batch_is_a_model_error() -> None:
    class Scalar(Model[int, int]):
        def predict(self, batch: int) -> list[int]:  # type: ignore[override]
            return [batch]

    with pytest.raises(ModelError, match="must be annotated as list"):
        signature_of(Scalar)


def test_runner_isolates_the_failing_input() -> None:
    class Picky(Model[int, int]):
        def predict(self, batch: list[int]) -> list[int]:
            if 3 in batch:
                raise ValueError("three is bad")
            return [x * 10 for x in batch]

    runner = ModelRunner(Picky(), signature_of(Picky))
    outcomes = runner.run_sync([1, 2, 3, 4, 5])
    runner.close()
    assert [o.value for o in outcomes] == [10, 20, None, 40, 50]
    assert isinstance(outcomes[2].error, PredictionError) and "three is bad" in str(
        outcomes[2].error
    )


def test_runner_rejects_wrong_output_count_and_type() -> None:
    class Short(Model[int, int]):
        def predict(self, batch: list[int]) -> list[int]:
            return [1]

    class WrongType(Model[int, int]):
        def predict(self, batch: list[int]) -> list[int]:
            return ["not a number"] * len(batch)  # type: ignore[list-item]

    for cls in (Short, WrongType):
        runner = ModelRunner(cls(), signature_of(cls))
        with pytest.raises(PredictionError):
            runner.predict_values([1, 2])
        runner.close()


def test_hooks_run_around_predict() -> None:
    class Hooked(Model[str, str]):
        def preprocess(self, item: str) -> str:
            return item.strip()

        def predict(self, batch: list[str]) -> list[str]:
            return [x.upper() for x in batch]

        def postprocess(self, output: str) -> str:
            return f"<{output}>"

    runner = ModelRunner(Hooked(), signature_of(Hooked))
    assert runner.predict_values([" a ", "b"]) == ["<A>", "<B>"]
    runner.close()


def test_loader_errors_name_the_problem(tmp_path: Path) -> None:
    root = make_project(tmp_path, "echo")
    (root / "echo.py").write_text("import nonexistent_package\n")
    with pytest.raises(ModelError, match=r"cannot import 'echo'.*nonexistent_package"):
        load_model_class(load_spec(root), root)


def test_volume_artifact_checksum_mismatch(tmp_path: Path) -> None:
    root = make_project(tmp_path, "echo")
    (root / "w.bin").write_bytes(b"corrupted")
    spec_file = root / "dockyard.toml"
    spec_file.write_text(
        spec_file.read_text() + '\n[[artifacts]]\nname = "w"\npath = "w.bin"\nmode = "volume"\n'
        'sha256 = "' + "0" * 64 + '"\n'
    )
    spec = load_spec(root)
    problems = verify_artifacts(spec, artifact_paths(spec, root, in_container=False))
    assert len(problems) == 1 and "expected 000000000000" in problems[0]
