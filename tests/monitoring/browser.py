"""Headless Chromium (Debian's `chromium`) driven through Playwright, collecting console errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api")


@contextmanager
def browser_page() -> Iterator[tuple[object, list[str]]]:
    """A fresh page and the list its console errors and page errors land in."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            yield page, errors
        finally:
            browser.close()


def keep_screenshot(page: object, artifacts: Path, name: str) -> Path:
    """Save a screenshot under the test's artifacts (and docs/img when DOCKYARD_DOCS_IMG is set)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    path = artifacts / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    docs = os.environ.get("DOCKYARD_DOCS_IMG")
    if docs:
        shutil.copy(path, Path(docs) / name)
    return path
