"""Inline suppression needs a reason; without one it is not applied and is reported."""

from __future__ import annotations

from dockyard.doctor import check_text

BASE = "FROM python:3.11-slim\nUSER 10001\n"


def test_reasoned_suppression_applies() -> None:
    text = (
        BASE + "# dockyard: ignore[DY107] a 2 MB vocabulary versioned with the code\n"
        "COPY model.onnx /app/\n"
    )
    assert [f.rule for f in check_text("dockerfile", text)] == []


def test_suppression_on_the_same_line_applies() -> None:
    text = (
        "services:\n  api:\n    image: x:1\n    privileged: true  # dockyard: ignore[DY504] "
        "needs /dev/kmsg\n    mem_limit: 1g\n    cpus: 1\n"
    )
    assert "DY504" not in {f.rule for f in check_text("compose", text)}


def test_unreasoned_suppression_is_reported_and_not_applied() -> None:
    text = BASE + "# dockyard: ignore[DY107]\nCOPY model.onnx /app/\n"
    rules = sorted(f.rule for f in check_text("dockerfile", text))
    assert rules == ["DY001", "DY107"]
