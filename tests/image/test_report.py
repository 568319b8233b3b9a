"""The build report names each layer by what it holds, on both build paths."""

from __future__ import annotations

import pytest

from dockyard.image.engine import Layer
from dockyard.image.report import describe

SITE = "/opt/venv/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("created_by", "name"),
    [
        # the assembled (reproducible) image's history
        ("dockyard: COPY dependencies in /opt/venv", "the virtual environment (dependencies)"),
        (f"dockyard: COPY dockyard in {SITE}", "dockyard itself"),
        ("dockyard: COPY artifact in /models/model.joblib", "a baked artifact"),
        ("dockyard: COPY app/ in /app/", "the application code and spec"),
        ("dockyard: the runtime user in /etc/passwd", "the runtime user"),
        # the classic builder's (system packages in the runtime stage)
        ("/bin/sh -c #(nop) COPY dir:0a1b in /opt/venv ", "the virtual environment (dependencies)"),
        (f"/bin/sh -c #(nop) COPY dir:9f8e in {SITE}/ ", "dockyard itself"),
    ],
)
def test_layers_are_named_by_what_they_hold(created_by: str, name: str) -> None:
    assert describe(Layer(created_by, 1)) == name
