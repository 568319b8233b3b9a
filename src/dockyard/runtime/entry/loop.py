"""Processes without an HTTP server: run until SIGTERM/SIGINT, then drain and exit 0."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("dockyard.entry")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_until_signal(run: Callable[[], None], stop: Callable[[], None], name: str) -> int:
    """Run `run`; a signal calls `stop`, after which `run` drains its work and returns. Exit 0.

    `stop` must be safe to call from a signal handler and more than once (set a flag or event).
    """

    def on_signal(sig: int, _: FrameType | None) -> None:
        log.info("draining", extra={"role": name, "signal": signal.Signals(sig).name})
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("drained", extra={"role": name})
    return 0
