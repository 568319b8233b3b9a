"""Tiny projects for the monitoring tests, written from the models in this folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

MODELS = Path(__file__).parent / "models"
REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples" / "digits"


def project(root: Path, model: str, cls: str, toml: str = "", **data: list[Any]) -> Path:
    """dockyard.toml + the model file + JSON-lines data files named by keyword (eval=...)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / f"{model}.py", root / f"{model}.py")
    for name, rows in data.items():
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    head = f'[project]\nname = "{model}"\n\n[model]\nentrypoint = "{model}:{cls}"\n'
    (root / "dockyard.toml").write_text(head + "\n" + toml)
    return root


def digits(root: Path, extra: str = "") -> Path:
    """A copy of examples/digits with extra spec text appended (monitoring tables)."""
    shutil.copytree(DIGITS, root, ignore=shutil.ignore_patterns(".dockyard"))
    with (root / "dockyard.toml").open("a") as spec:
        spec.write("\n" + extra)
    return root


def samples(url: str | TestClient, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called `name` on /metrics (of a URL or an in-process client), parsed."""
    text = httpx.get(url + "/metrics").text if isinstance(url, str) else url.get("/metrics").text
    return [
        (dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def value(url: str | TestClient, name: str, **labels: str) -> float | None:
    for found, v in samples(url, name):
        if all(found.get(k) == w for k, w in labels.items()):
            return v
    return None
