"""API keys with scopes, per-key rate limits and security headers, as one ASGI layer.

`with_auth(app, config, rules)` wraps any Dockyard app; `rules` (see `rules.py`) says which
scope each route needs. Threat model and defaults: docs/security.md.
"""

from __future__ import annotations

from dockyard.runtime.auth.config import KEYS_FILE_ENV, AuthConfig
from dockyard.runtime.auth.keys import ANY, SCOPES, Key, KeyFile, KeyRing, parse_keys
from dockyard.runtime.auth.middleware import KEY_SCOPE, Guard, caller
from dockyard.runtime.auth.rules import Rules

with_auth = Guard

__all__ = [
    "ANY",
    "KEYS_FILE_ENV",
    "KEY_SCOPE",
    "SCOPES",
    "AuthConfig",
    "Guard",
    "Key",
    "KeyFile",
    "KeyRing",
    "Rules",
    "caller",
    "parse_keys",
    "with_auth",
]
