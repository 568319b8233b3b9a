"""Shadow traffic: a copy of each answered request goes to a candidate, off the client's path.

The copy is sent after the client has its answer, as a task the client never awaits; when
`shadow_concurrency` copies are already in flight, new ones are dropped (and counted) rather than
queued, so a slow candidate can neither delay answers nor grow memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx

from dockyard.runtime.golden import mismatch
from dockyard.runtime.router.metrics import RouterMetrics
from dockyard.runtime.router.upstream import Answer, Upstreams
from dockyard.spec.serving import Tolerance

log = logging.getLogger("dockyard.router.shadow")


class Shadow:
    """Mirrors requests to one version and records whether its answers agree with the primary's."""

    def __init__(
        self,
        name: str,
        upstreams: Upstreams,
        metrics: RouterMetrics,
        tolerance: Tolerance,
        fields: tuple[str, ...] = (),
        concurrency: int = 16,
    ) -> None:
        self.name = name
        self.upstreams, self.metrics = upstreams, metrics
        self.tolerance, self.fields, self.limit = tolerance, fields, concurrency
        self._tasks: set[asyncio.Task[None]] = set()

    def mirror(
        self,
        primary: str,
        path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        answer: Answer,
    ) -> None:
        """Send a copy of a request `primary` answered with `answer`; returns at once."""
        if len(self._tasks) >= self.limit:
            self.metrics.shadow.labels(primary, self.name, "dropped").inc()
            return
        task = asyncio.create_task(self._compare(primary, path, body, headers, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compare(
        self,
        primary: str,
        path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        answer: Answer,
    ) -> None:
        try:
            copy = await self.upstreams.post(self.name, path, body, headers)
        except httpx.HTTPError as exc:
            log.warning("shadow request failed", extra={"version": self.name, "error": str(exc)})
            self.metrics.shadow.labels(primary, self.name, "error").inc()
            return
        self.metrics.latency.labels(self.name, "shadow").observe(copy.seconds)
        if copy.status != 200:
            self.metrics.shadow.labels(primary, self.name, "error").inc()
            return
        v2 = path.startswith("/v2/")
        same = agrees(answer.body, copy.body, self.tolerance, self.fields, v2)
        self.metrics.compared(primary, self.name, same)

    async def close(self, grace_s: float) -> None:
        """Let copies in flight finish within `grace_s`, then cancel the rest."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in late:
                task.cancel()


def agrees(
    primary: bytes, shadow: bytes, tolerance: Tolerance, fields: tuple[str, ...], v2: bool
) -> bool:
    """True when the two answers' outputs match within tolerance (on `fields` when given)."""
    try:
        expected, actual = json.loads(primary)["outputs"], json.loads(shadow)["outputs"]
    except (ValueError, KeyError, TypeError):
        return primary == shadow  # not JSON outputs (e.g. binary tensors): compare the bytes
    if fields:
        expected, actual = _select(expected, fields, v2), _select(actual, fields, v2)
    return mismatch(actual, expected, tolerance.atol, tolerance.rtol) is None


def _select(outputs: Any, fields: tuple[str, ...], v2: bool) -> Any:
    """Only the compared fields: V2 tensors named after them, or those keys of each output."""
    if not isinstance(outputs, list):
        return outputs
    if v2:
        return [t for t in outputs if isinstance(t, dict) and t.get("name") in fields]
    return [{k: o.get(k) for k in fields} if isinstance(o, dict) else o for o in outputs]
