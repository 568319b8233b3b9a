"""The status page with keys on: a browser signs in with a form and gets a session cookie.

The cookie carries a signed, expiring token (never the key) and is accepted only for GET
routes that need `metrics`.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.auth import parse_keys, session
from tests.conftest import Server, free_port
from tests.security.certs import CERT, tls_project
from tests.security.conftest import Keys, write_keys

pytestmark = pytest.mark.slow  # real server processes
HTML = {"Accept": "text/html,application/xhtml+xml"}


def sign_in(client: httpx.Client, key: str) -> httpx.Response:
    return client.post("/status/login", data={"key": key}, follow_redirects=False)


def cookie_of(response: httpx.Response) -> str:
    value = response.headers["set-cookie"]
    token = value.split(";", 1)[0].partition("=")[2]
    assert token
    return token


def with_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{session.COOKIE}={token}"}


def test_a_browser_signs_in_with_a_metrics_key_and_the_cookie_opens_only_metrics_reads(
    service: Server, keys: Keys
) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as client:
        form = client.get("/status", headers=HTML)
        assert form.status_code == 401 and form.headers["content-type"].startswith("text/html")
        assert '<form method="post" action="status/login">' in form.text
        assert "default-src 'self'" in form.headers["content-security-policy"]
        # a script still gets the JSON refusal
        assert client.get("/status").json()["error"]["type"] == "unauthorized"

        assert sign_in(client, "dk_not-a-key-at-all-000").status_code == 401
        refused = sign_in(client, keys.by_scope["predict"])
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert keys.by_scope["predict"] not in refused.text

        good = sign_in(client, keys.by_scope["metrics"])
        assert good.status_code == 303 and good.headers["location"] == "../status"
        flags = [f.strip() for f in good.headers["set-cookie"].split(";")]
        assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(flags)
        assert "Secure" not in flags  # plain HTTP on 127.0.0.1: a Secure cookie would be lost
        token = cookie_of(good)
        assert keys.by_scope["metrics"] not in token and token.startswith("metrics-key.")

        for path in ("/status", "/status.json", "/metrics", "/pipeline/metrics"):
            answer = client.get(path, headers={**HTML, **with_cookie(token)})
            assert answer.status_code == 200, (path, answer.text)
        # the cookie is no key for anything else, nor for writes
        for method, path in (("GET", "/jobs"), ("POST", "/predict"), ("GET", "/jobs/stats")):
            answer = client.request(method, path, headers=with_cookie(token), json={})
            assert answer.status_code == 401, (method, path)

        # an admin key signs in too (admin holds metrics); its cookie is still metrics-only
        admin = cookie_of(sign_in(client, keys.by_scope["admin"]))
        assert client.get("/jobs/stats", headers=with_cookie(admin)).status_code == 401
        assert client.get("/status.json", headers=with_cookie(admin)).status_code == 200


def test_forged_expired_and_revoked_sessions_are_refused(service: Server, keys: Keys) -> None:
    ring = parse_keys(keys.path.read_text(), "keys")
    metrics = ring.by_id("metrics-key")
    assert metrics is not None
    with httpx.Client(base_url=service.url, timeout=30) as client:
        token = cookie_of(sign_in(client, keys.by_scope["metrics"]))
        key_id, expires, mac = token.split(".")

        def status(token: str) -> int:
            return client.get("/status.json", headers=with_cookie(token)).status_code

        assert status(token) == 200
        assert status(f"{key_id}.{int(expires) + 3600}.{mac}") == 401  # extended by hand
        assert status(f"admin-key.{expires}.{mac}") == 401  # another key's id
        assert status(session.issue(ring, metrics, now=time.time() - session.TTL_S - 1)) == 401
        assert status(session.issue(ring, metrics)) == 200  # the server keeps no state

        # removing the key from the file ends its sessions
        lines = [(k, f"{s}-key", s) for s, k in keys.by_scope.items() if s != "metrics"]
        write_keys(keys.path, lines)
        deadline = time.monotonic() + 10
        while status(token) == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status(token) == 401


def test_over_tls_the_session_cookie_is_secure(tmp_path: Path, keys: Keys) -> None:
    port = free_port()
    root = tls_project(tmp_path / "project", auth={"enabled": True}, serving={"port": port})
    server = Server(root, "--port", str(port), env=keys.env)
    verify = ssl.create_default_context(cafile=str(root / ".dockyard/secrets" / CERT))
    url = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, verify=verify, timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert server.alive, server.log.read_text()
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            signed_in = sign_in(client, keys.by_scope["metrics"])
            assert signed_in.status_code == 303
            assert "Secure" in [f.strip() for f in signed_in.headers["set-cookie"].split(";")]
            token = cookie_of(signed_in)
            assert client.get("/status", headers=with_cookie(token)).status_code == 200
    finally:
        server.stop()


def test_the_status_page_signs_in_and_renders_in_chromium(service: Server, keys: Keys) -> None:
    from tests.monitoring.browser import browser_page

    with browser_page() as (page, errors):
        page.goto(service.url + "/status")  # type: ignore[attr-defined]
        page.fill("#key", keys.by_scope["metrics"])  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
        page.wait_for_selector("body[data-loaded='1']")  # type: ignore[attr-defined]
        assert page.url == service.url + "/status"  # type: ignore[attr-defined]
    # the form's own 401 is the only error a browser logs
    assert [e for e in errors if "401" not in e] == []
