"""The runtime's one deliberate write to the process environment: the spec's [env].

Libraries such as tokenizers and torch read their settings from the environment when they are
imported, so the spec's [env] must be in `os.environ` before the model's module is imported.
Only `setdefault`: what the deployment set always wins. Nothing here decides anything from the
environment; entry points read it and pass what they read down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def apply_model_env(env: Mapping[str, str]) -> None:
    """Put each of the spec's [env] variables in the environment, unless it is already set."""
    for key, value in env.items():
        os.environ.setdefault(key, value)
