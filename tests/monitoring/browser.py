"""Headless Chromium (Debian's `chromium`) driven through Playwright, collecting console errors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@contextmanager
def browser_page() -> Iterator[tuple[object, list[str]]]:
    """A fresh page and the list its console errors and page errors land in."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    # Imported here, not at module level: the browser tests are slow ones, collection is not.
    playwright = pytest.importorskip("playwright.sync_api")
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


@dataclass(frozen=True)
class TryIt:
    """What Swagger UI showed after "Execute" on POST /predict with the default example."""

    status: str
    body: str
    errors: list[str]
    outside: list[str]  # requests to anything but the service (a CDN): must stay empty


def swagger_try_predict(url: str, artifacts: Path, screenshot: str = "docs.png") -> TryIt:
    """Open `url`/docs in Chromium and send the golden example from the predict operation."""
    op = "#operations-default-predict"
    with browser_page() as (page, errors):
        outside: list[str] = []
        page.on(  # type: ignore[attr-defined]
            "request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None
        )
        page.goto(url + "/docs")  # type: ignore[attr-defined]
        page.wait_for_selector(op).click()  # type: ignore[attr-defined]
        # tryItOutEnabled: the golden example is already in an editable body, ready to send
        page.click(f"{op} .execute")  # type: ignore[attr-defined]
        rows = f"{op} .live-responses-table tbody"
        status = page.wait_for_selector(f"{rows} .response-col_status")  # type: ignore[attr-defined]
        code = status.inner_text().strip()
        body = page.inner_text(f"{rows} .response-col_description pre")  # type: ignore[attr-defined]
        keep_screenshot(page, artifacts, screenshot)
    return TryIt(code, body, errors, outside)
