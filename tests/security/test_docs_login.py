"""/docs with keys on: a browser signs in with the same form as the status page (#16).

Any valid key opens the Swagger UI and its OpenAPI document, as for a script; the cookie it buys
still opens only what that key may read.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server
from tests.security.conftest import Keys

pytestmark = pytest.mark.slow  # a real server process
HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_a_browser_signs_in_to_the_docs_and_comes_back_to_them(service: Server, keys: Keys) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        form = client.get("/docs", headers=HTML)
        assert form.status_code == 401 and "<h1>API docs</h1>" in form.text
        assert '<input type="hidden" name="next" value="docs">' in form.text
        assert client.get("/docs").json()["error"]["type"] == "unauthorized"  # a script: JSON

        predict_only = {"key": keys.by_scope["predict"], "next": "docs"}
        signed = client.post("/status/login", data=predict_only, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "../docs"
        cookie = {"Cookie": signed.headers["set-cookie"].split(";", 1)[0]}
        client.cookies.clear()
        docs = client.get("/docs", headers={**HTML, **cookie})
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert client.get("/openapi.json", headers=cookie).json()["openapi"].startswith("3.")
        # the cookie is that key's: no metrics scope, so no status page; and never a write
        assert client.get("/status.json", headers=cookie).status_code == 403
        assert client.post("/predict", headers=cookie, json={"inputs": []}).status_code == 401

        elsewhere = {"key": keys.by_scope["metrics"], "next": "https://evil.example/"}
        bounced = client.post("/status/login", data=elsewhere, follow_redirects=False)
        assert bounced.headers["location"] == "../status"  # only the known pages, never a URL
