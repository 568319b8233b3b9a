"""The CLI's entry to deploy.stack_secrets for `dockyard release` (cli/release.py imports it).

The code lives in dockyard.deploy.stack_secrets; this passes the process environment.
TODO(#18): release.py can call deploy.stack_secrets.api_keys(spec, root, os.environ) itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.deploy import stack_secrets
from dockyard.spec import Spec


def api_keys(spec: Spec, root: Path) -> str:
    """The project's keys file text (the user's, else one made now with an admin key)."""
    return stack_secrets.api_keys(spec, root, os.environ)
