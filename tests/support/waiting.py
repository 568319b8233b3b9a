"""Polling real things (processes, queues, HTTP) until a condition holds, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Call `check` until it returns something truthy (returned); fail after `timeout` seconds.

    `check` may return None for "not yet", so a found value comes back typed without None.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{what or 'condition'} never became true in {timeout}s: {value!r}"
            )
        time.sleep(interval)
