"""Renderers: findings in, text out (text for people, JSON for scripts, SARIF for code scanning,
GitHub workflow commands for Actions without code scanning)."""

from __future__ import annotations

from collections.abc import Callable

from dockyard.doctor.checker import Report
from dockyard.doctor.report.github import render_github
from dockyard.doctor.report.json import render_json
from dockyard.doctor.report.sarif import render_sarif
from dockyard.doctor.report.text import render_text

Renderer = Callable[[Report], str]
RENDERERS: dict[str, Renderer] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}

__all__ = [
    "RENDERERS",
    "Renderer",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
]
