"""Which event loop and HTTP parser a server runs: uvloop and httptools, or the slow defaults."""

from __future__ import annotations

import asyncio
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class FastPath:
    """The loop and HTTP parser in use; `fast` when both are the compiled ones."""

    loop: str
    http: str

    @property
    def fast(self) -> bool:
        return self.loop == "uvloop" and self.http == "httptools"


def installed() -> FastPath:
    """What uvicorn's "auto" choices will pick in this environment."""
    return FastPath(
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
    )


def running(protocol: type) -> FastPath:
    """What this server actually runs: the current loop and uvicorn's HTTP protocol class."""
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    return FastPath(
        loop="uvloop" if loop == "uvloop" else "asyncio",
        http="httptools" if "HttpTools" in protocol.__name__ else "h11",
    )
