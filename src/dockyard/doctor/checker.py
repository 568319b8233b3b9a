"""Find files, parse them, run the rules, apply suppressions and --select/--ignore.

`check_text` and `check_image` are pure: text (or image facts) in, findings out. `check_paths`
does the file system part for the CLI and for `dockyard build`.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from dockyard.doctor.finding import Category, Finding
from dockyard.doctor.image import Image
from dockyard.doctor.parse.compose import ComposeFile, parse_compose
from dockyard.doctor.parse.composeset import compose_set
from dockyard.doctor.parse.context import read_context
from dockyard.doctor.parse.dockerfile import parse_dockerfile
from dockyard.doctor.parse.k8s import is_k8s, parse_k8s
from dockyard.doctor.parse.yamlsrc import load_documents
from dockyard.doctor.registry import RULES
from dockyard.doctor.rule import Rule, Target
from dockyard.doctor.suppress import UNREASONED, apply

Kind = Literal["dockerfile", "compose", "k8s"]
_DOCKERFILE_NAMES = (
    "Dockerfile",
    "Dockerfile.*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "Containerfile.*",
)
_COMPOSE_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_COMPOSE_NAMES = (
    "compose.*.yaml",
    "compose.*.yml",
    "docker-compose.*.yaml",
    "docker-compose.*.yml",
    *_COMPOSE_BASES,
)
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".tox",
    "site-packages",
    ".pytest_cache",
    ".ruff_cache",
}
_CATEGORIES: dict[str, Category] = {rule.id: rule.category for rule in RULES}


@dataclass(frozen=True)
class Selection:
    """Which rules run: ids, id prefixes (`DY3`) or category names; empty select means all."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def wants(self, rule_id: str) -> bool:
        category = _CATEGORIES.get(rule_id, "")
        chosen = not self.select or any(_matches(s, rule_id, category) for s in self.select)
        return chosen and not any(_matches(s, rule_id, category) for s in self.ignore)


def _matches(pattern: str, rule_id: str, category: str) -> bool:
    pattern = pattern.strip()
    return rule_id.upper().startswith(pattern.upper()) or pattern.lower() == category


@dataclass
class Report:
    """What a run found, the texts it read (for showing lines) and what it could not read."""

    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def check_text(
    kind: Kind, text: str, path: str = "-", selection: Selection = Selection()
) -> list[Finding]:
    """Check one Dockerfile, Compose file or Kubernetes manifest given as text."""
    parsers: dict[str, Any] = {
        "dockerfile": parse_dockerfile,
        "compose": parse_compose,
        "k8s": parse_k8s,
    }
    artifact = parsers[kind](text, path)
    findings = _run(kind, artifact, path, selection)
    return _finish(apply(findings, text, path, _CATEGORIES), selection)


def check_image(image: Image, selection: Selection = Selection()) -> list[Finding]:
    """Check a built image's config, history and layer files."""
    return _finish(_run("image", image, image.name, selection), selection)


def check_compose_files(
    files: Sequence[ComposeFile],
    selection: Selection = Selection(),
) -> list[Finding]:
    """Compare Compose files for dev/prod drift (a base with overlays, or side by side)."""
    base = next((f for f in files if Path(f.path).name in _COMPOSE_BASES), None)
    overlays = [f for f in files if f is not base]
    if len(files) < 2:
        return []
    if base is not None and any(Path(f.path).parent != Path(base.path).parent for f in overlays):
        base, overlays = None, list(files)
    findings = _run("compose-set", compose_set(base, overlays), files[-1].path, selection)
    by_path = {f.path: f.text for f in files}
    kept: list[Finding] = []
    for path, text in by_path.items():
        kept += apply([f for f in findings if f.path == path], text, path, _CATEGORIES)
    return _finish([f for f in kept if f.rule != UNREASONED], selection)


def check_context(path: Path, text: str, selection: Selection = Selection()) -> list[Finding]:
    """Check a Dockerfile against its build context (its folder, filtered by .dockerignore)."""
    name = str(path)
    context = read_context(parse_dockerfile(text, name), path.parent)
    findings = apply(_run("context", context, name, selection), text, name, _CATEGORIES)
    return _finish([f for f in findings if f.rule != UNREASONED], selection)


def _run(target: Target, artifact: object, path: str, selection: Selection) -> list[Finding]:
    rules: Iterable[Rule] = (r for r in RULES if target in r.targets and selection.wants(r.id))
    return [f for rule in rules for f in rule.run(artifact, path)]


def _finish(findings: Iterable[Finding], selection: Selection) -> list[Finding]:
    return sorted({f for f in findings if selection.wants(f.rule)})


def detect_kind(path: Path, text: str | None = None) -> Kind | None:
    """What a file is, from its name and (for YAML) its content; None if not ours."""
    name = path.name
    if any(fnmatch.fnmatch(name, p) for p in _DOCKERFILE_NAMES):
        return "dockerfile"
    if path.suffix not in (".yaml", ".yml"):
        return None
    if any(fnmatch.fnmatch(name, p) for p in _COMPOSE_NAMES):
        return "compose"
    try:
        docs = load_documents(text if text is not None else path.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return None
    if is_k8s(docs):
        return "k8s"
    if docs and isinstance(docs[0], dict) and isinstance(docs[0].get("services"), dict):
        return "compose"
    return None


def discover(paths: Sequence[Path]) -> list[tuple[Path, Kind]]:
    """The files to check: explicit files as given (any name), directories walked."""
    out: list[tuple[Path, Kind]] = []
    for path in paths:
        candidates = [path] if path.is_file() else sorted(_walk(path))
        for candidate in candidates:
            kind = detect_kind(candidate)
            if kind is None and path.is_file():
                kind = _guess(candidate)
            if kind is not None:
                out.append((candidate, kind))
    return out


def _walk(root: Path) -> Iterable[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in files:
            yield Path(folder) / name


def _guess(path: Path) -> Kind | None:
    """An explicitly named file with an unusual name: sniff a Dockerfile by its FROM."""
    try:
        head = path.read_text(errors="replace")[:4096]
    except OSError:
        return None
    lines = [ln.strip().upper() for ln in head.splitlines()]
    return "dockerfile" if any(ln.startswith("FROM ") for ln in lines) else None


def check_paths(
    paths: Sequence[Path | str], images: Sequence[Image] = (), selection: Selection = Selection()
) -> Report:
    """Check files and directories (and already-read images); compare Compose variants."""
    report = Report()
    composes: dict[Path, list[ComposeFile]] = {}
    for path, kind in discover([Path(p) for p in paths]):
        _check_file(path, kind, selection, report, composes)
    for group in _compose_groups(composes, explicit=[Path(p) for p in paths]):
        report.findings += check_compose_files(group, selection)
    for image in images:
        report.findings += check_image(image, selection)
    report.findings = sorted(set(report.findings))
    return report


def _check_file(
    path: Path,
    kind: Kind,
    selection: Selection,
    report: Report,
    composes: dict[Path, list[ComposeFile]],
) -> None:
    name = str(path)
    try:
        text = path.read_text()
        findings = check_text(kind, text, name, selection)
        if kind == "dockerfile":
            findings += check_context(path, text, selection)
        if kind == "compose":
            compose = parse_compose(text, name)
            composes.setdefault(path.parent, []).append(compose)
            if is_overlay(path):
                findings = _overlay_findings(compose, findings)
        report.findings += findings
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        report.skipped.append((name, f"cannot read: {exc}".splitlines()[0]))
        return
    report.sources[name] = text


def is_overlay(path: Path) -> bool:
    """`compose.dev.yaml` next to a `compose.yaml`: a partial file, merged onto the base."""
    return (
        path.name not in _COMPOSE_BASES
        and any(fnmatch.fnmatch(path.name, p) for p in _COMPOSE_NAMES)
        and any((path.parent / base).exists() for base in _COMPOSE_BASES)
    )


def _overlay_findings(compose: ComposeFile, findings: list[Finding]) -> list[Finding]:
    """An overlay is partial: keep what it sets, drop "missing X" findings (the base has X).

    Rules report an absence on the service's own key line, and a bad value on the value's line.
    """
    service_lines = {s.line for s in compose.services}
    return [f for f in findings if f.line not in service_lines]


def _compose_groups(
    composes: dict[Path, list[ComposeFile]], explicit: list[Path]
) -> list[list[ComposeFile]]:
    """Per directory: a base with overlays. Files given one by one are compared together."""
    groups = [files for files in composes.values() if len(files) > 1]
    named = [f for files in composes.values() for f in files if Path(f.path) in explicit]
    if not groups and len(named) > 1:
        groups = [named]
    return groups
