"""Browser sessions for the status page: a browser cannot send an API key header.

A session token is `ID.EXPIRES.MAC`: the key's id, when the token stops working, and an
HMAC-SHA256 of both keyed by that key's stored digest. It is never the key, nothing is kept on
the server, and every process and replica that reads the same keys file accepts it; removing
the key from the file ends its sessions at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable

from dockyard.runtime.auth.keys import Key, KeyRing

COOKIE = "dockyard_session"
TTL_S = 8 * 3600  # a working day; then the form again
_LABEL = b"dockyard-session\x00"


def issue(ring: KeyRing, key: Key, now: float | None = None) -> str:
    """A token for `key` that expires TTL_S from now."""
    expires = int((time.time() if now is None else now) + TTL_S)
    payload = f"{key.id}.{expires}"
    return f"{payload}.{_mac(ring.digest_of(key.id) or b'', payload)}"


def verify(ring: KeyRing, token: str, clock: Callable[[], float] = time.time) -> Key | None:
    """The key a token was issued for, while it is unexpired and the key still in the file."""
    payload, _, mac = token.rpartition(".")
    key_id, _, expires = payload.rpartition(".")
    if not expires.isdigit() or int(expires) < clock():
        return None
    digest = ring.digest_of(key_id)
    if digest is None or not hmac.compare_digest(_mac(digest, payload), mac):
        return None
    return ring.by_id(key_id)


def from_cookies(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The session token in the request's Cookie header ('' when none)."""
    for name, value in headers:
        if name != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            cookie, _, token = part.strip().partition("=")
            if cookie == COOKIE:
                return token
    return ""


def set_cookie(token: str, secure: bool) -> bytes:
    """HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure on TLS."""
    flags = f"{COOKIE}={token}; Path=/; Max-Age={TTL_S}; HttpOnly; SameSite=Strict"
    return (flags + ("; Secure" if secure else "")).encode()


def _mac(digest: bytes, payload: str) -> str:
    mac = hmac.new(digest, _LABEL + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
