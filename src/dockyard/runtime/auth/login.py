"""The browser pages' sign-in: a form that trades a key for a session cookie.

Browsers cannot send an API key header, so the status page (a key with `metrics`) and the
Swagger UI at /docs (any valid key, as for a script) offer this form instead of a bare 401.
Answers are (status, headers, body) for the auth layer to send; the key is read from a POSTed
form (never a URL), checked like a header key, and never echoed back.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from dockyard.runtime.auth import session
from dockyard.runtime.auth.keys import KeyRing
from dockyard.runtime.http import Receive, Scope

STATUS_PATH = "/status"
LOGIN_PATH = "/status/login"
PAGES = {"status": "metrics", "docs": None}  # the pages behind the form: the scope each needs
MAX_BODY = 4096
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dockyard {page}: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.4rem;margin:.3rem 0;width:100%;box-sizing:border-box}}
.msg{{color:#b00020}}</style></head>
<body><h1>{title}</h1><p>Sign in with an API key{needs}.</p>
<form method="post" action="{action}"><label for="key">API key</label>
<input type="hidden" name="next" value="{page}">
<input id="key" name="key" type="password" autocomplete="off" required autofocus>
<button type="submit">Sign in</button></form><p class="msg" role="alert">{message}</p>
</body></html>
"""


def wants_form(scope: Scope) -> bool:
    """A browser asking for a page behind the form (not a script asking for JSON)."""
    if scope["method"] != "GET" or scope["path"].lstrip("/") not in PAGES:
        return False
    accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
    return b"text/html" in accept


def page(
    status: int, message: str = "", action: str = "status/login", of: str = "status"
) -> Answer:
    """The sign-in form for page `of` (relative action: it works behind a path prefix too)."""
    scope = PAGES.get(of)
    needs = f" that has the <code>{scope}</code> scope" if scope else ""
    title = "Status" if of == "status" else "API docs"
    text = _PAGE.format(
        action=action, message=html.escape(message), page=of, needs=needs, title=title
    )
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
    return status, headers, text.encode()


async def sign_in(scope: Scope, receive: Receive, ring: KeyRing) -> Answer:
    """POST: a good key gets a session cookie and a redirect back to the page it came from."""
    if scope["method"] != "POST":
        return page(200, action="login")
    form = parse_qs((await _body(receive)).decode("utf-8", "replace"))
    back = form.get("next", ["status"])[0]
    back = back if back in PAGES else "status"  # never a redirect to anywhere else
    key = ring.find(form.get("key", [""])[0].strip().encode())
    if key is None:
        return page(401, "Unknown key.", action="login", of=back)
    needed = PAGES[back]
    if needed is not None and not key.allows(needed):
        return page(403, f"The key {key.id!r} lacks the {needed} scope.", action="login", of=back)
    cookie = session.set_cookie(session.issue(ring, key), secure=scope.get("scheme") == "https")
    headers = [
        (b"location", f"../{back}".encode()),
        (b"set-cookie", cookie),
        (b"cache-control", b"no-store"),
    ]
    return 303, headers, b""


async def _body(receive: Receive) -> bytes:
    """The form body, cut at MAX_BODY (a key is well under it)."""
    chunks, size, more = [], 0, True
    while more and size < MAX_BODY:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)[:MAX_BODY]
