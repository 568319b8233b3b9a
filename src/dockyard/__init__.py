"""Dockyard: from a Python model class to a production container deployment."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.runtime.contract import GenerationParams, GenerativeModel, Model

__all__ = ["GenerationParams", "GenerativeModel", "Model", "__version__"]
__version__ = "0.1.0"
IMPORTED_AT = time.time()  # where the start-up breakdown's `interpreter` phase ends
_CONTRACT = {"GenerationParams", "GenerativeModel", "Model"}


def __getattr__(name: str) -> Any:
    """The contract is imported on first use, so `python -m dockyard.runtime healthcheck` (run by
    the engine every few seconds, in images without bytecode caches) loads no pydantic."""
    if name in _CONTRACT:
        from dockyard.runtime import contract

        return getattr(contract, name)
    raise AttributeError(f"module 'dockyard' has no attribute {name!r}")
