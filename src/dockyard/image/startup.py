"""Wait for a started container to become ready, and say exactly why when it does not.

Waiting stops at the first of: /readyz answers 200, /readyz reports a terminal state
(`failed`), the container is no longer running, or the time is up. The verdict carries the real
elapsed time and the reason: /readyz's, or the engine's (OOM-killed at the limit, exit code,
signal).
"""

from __future__ import annotations

import json
import signal
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["ready", "failed", "exited", "timeout"]
TERMINAL_STATES = frozenset({"failed"})


@dataclass(frozen=True)
class Readiness:
    """One /readyz answer: ready or not, the service's state and reason (None: no answer)."""

    ready: bool
    state: str | None = None
    reason: str = ""
    startup: Mapping[str, Any] | None = None  # the service's start-up breakdown, when it has one


@dataclass(frozen=True)
class Outcome:
    """How the wait ended, after how long, and the service's last word."""

    verdict: Verdict
    elapsed_s: float
    readiness: Readiness

    @property
    def ok(self) -> bool:
        return self.verdict == "ready"


def wait_ready(
    url: str,
    is_running: Callable[[], bool],
    timeout_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    """Poll /readyz until ready, a terminal state, the container's exit, or the timeout."""
    started = clock()
    while True:
        last = probe(url, context)
        elapsed = clock() - started
        if last.ready:
            return Outcome("ready", elapsed, last)
        if last.state in TERMINAL_STATES:
            return Outcome("failed", elapsed, last)
        if not is_running():
            return Outcome("exited", elapsed, last)
        if elapsed >= timeout_s:
            return Outcome("timeout", elapsed, last)
        sleep(0.2)


def probe(url: str, context: ssl.SSLContext | None = None) -> Readiness:
    """GET /readyz once; a service that does not answer yet has no state."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2, context=context) as response:
            return _readiness(int(response.status), response.read())
    except urllib.error.HTTPError as exc:
        return _readiness(exc.code, exc.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return Readiness(False)


def pinned_context(cert_pem: bytes) -> ssl.SSLContext:
    """Trust exactly the service's own certificate (its name is the public host, not 127.0.0.1).

    The runtime's health check does the same (dockyard.runtime.entry.tls, not importable here).
    """
    context = ssl.create_default_context(cadata=cert_pem.decode())
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _readiness(status: int, body: bytes) -> Readiness:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    state = data.get("state")
    startup = data.get("startup") if isinstance(data.get("startup"), dict) else None
    reason = str(data.get("reason") or "")
    return Readiness(status == 200, str(state) if state else None, reason, startup)


def describe_startup(report: Mapping[str, Any]) -> str:
    """One line for people: `interpreter 0.05s, dockyard 0.40s, model import 1.20s, ...`."""
    phases = report.get("phases_s")
    if not isinstance(phases, dict):
        return ""
    return ", ".join(f"{name.replace('_', ' ')} {secs:.2f}s" for name, secs in phases.items())


def engine_reason(state: Mapping[str, Any] | None, events: Sequence[Mapping[str, Any]]) -> str:
    """What the engine says ended the container: OOM kill, signal or exit code."""
    oom = any(e.get("status") == "oom" for e in events) or bool((state or {}).get("OOMKilled"))
    code = _exit_code(state, events)
    if oom:
        return "killed for running out of memory (OOMKilled)"
    if code is None:
        return "still running" if (state or {}).get("Running") else "gone (no exit code known)"
    if code > 128 and code - 128 in signal.valid_signals():
        return f"killed by {signal.Signals(code - 128).name} (exit code {code})"
    return f"exited with code {code}"


def _exit_code(state: Mapping[str, Any] | None, events: Sequence[Mapping[str, Any]]) -> int | None:
    if state is not None and not state.get("Running"):
        return int(state.get("ExitCode", 0))
    for event in events:
        if event.get("status") == "die":
            code = ((event.get("Actor") or {}).get("Attributes") or {}).get("exitCode")
            return int(code) if code is not None else None
    return None


def explain(outcome: Outcome, engine_said: str, memory_limit: int, logs: Sequence[str]) -> str:
    """The failure message: elapsed time, state, reason, and the last log lines."""
    head = {
        "failed": f"the service reported state {outcome.readiness.state!r}",
        "exited": f"the container stopped: {engine_said}",
        "timeout": "the service did not become ready",
        "ready": "ready",
    }[outcome.verdict]
    lines = [f"{head} after {outcome.elapsed_s:.1f}s"]
    if outcome.readiness.state:
        lines.append(f"  /readyz: state {outcome.readiness.state}: {outcome.readiness.reason}")
    if "OOMKilled" in engine_said:
        lines.append(
            f"  the limit is resources.memory = {memory_limit // 1024**2} MiB: raise it above "
            "the model's peak (`dockyard predict` prints it)"
        )
    tail = [line for line in logs if line.strip()][-20:]
    lines.append("last log lines:" if tail else "(the container wrote no output)")
    lines += [f"  {line}" for line in tail]
    return "\n".join(lines)


__all__ = [
    "Outcome",
    "Readiness",
    "describe_startup",
    "engine_reason",
    "explain",
    "probe",
    "wait_ready",
]
