"""The doctor: finds the classic mistakes in Dockerfiles, Compose files, manifests and images.

Pure entry points for other commands (e.g. `dockyard build` checks what it renders)::

    findings = check_text("dockerfile", text, "Dockerfile")
"""

from __future__ import annotations

from dockyard.doctor.checker import (
    Report,
    Selection,
    check_compose_files,
    check_image,
    check_paths,
    check_text,
)
from dockyard.doctor.finding import CATEGORIES, SEVERITIES, Category, Finding, Severity
from dockyard.doctor.registry import RULES
from dockyard.doctor.rule import Rule

__all__ = [
    "CATEGORIES",
    "RULES",
    "SEVERITIES",
    "Category",
    "Finding",
    "Report",
    "Rule",
    "Selection",
    "Severity",
    "check_compose_files",
    "check_image",
    "check_paths",
    "check_text",
]
