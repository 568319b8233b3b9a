"""Every example's image is in the doctor's image set: each example project is checked by an
engine test that builds its image, so a new example cannot slip past the bar of issue 11."""

from __future__ import annotations

from tests.doctor.image_set import COVERAGE, REPO


def test_every_example_project_has_an_engine_test_running_the_doctor_on_its_image() -> None:
    examples = REPO / "examples"
    projects = {
        p.parent.relative_to(examples).as_posix()
        for p in examples.rglob("dockyard.toml")
        if ".dockyard" not in p.parts
    }
    assert set(COVERAGE) == projects
    for module in set(COVERAGE.values()):
        text = (REPO / module).read_text()
        assert "pytest.mark.engine" in text and "alarms(" in text, module
