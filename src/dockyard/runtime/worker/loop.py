"""The worker loop: claim batches with a lease, run them, record each result exactly once.

Threads: the caller's thread claims and dispatches; `concurrency` threads run batches; one
thread renews leases (the heartbeat) and does nothing else, so a slow stats() scan or purge on
the housekeeping thread can never let a lease expire. Nothing here knows about the model or
the back end beyond `Execute` and `JobQueue`, so tests drive it with the in-memory queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from dockyard.runtime.queue import Claim, JobQueue, backoff
from dockyard.runtime.queue.base import JSON
from dockyard.runtime.worker.heartbeat import WorkerState
from dockyard.runtime.worker.metrics import WorkerMetrics
from dockyard.spec.jobs import Worker as WorkerSpec

log = logging.getLogger("dockyard.worker")

PURGE_EVERY_S = 300.0
IDLE_MIN_S = 0.002


@dataclass(frozen=True)
class Result:
    """What running one input gave: a JSON value, or an error (permanent ones skip retries).

    `error` is what the job records and its caller sees; `detail`, when set, is the full text
    that only the worker log gets (a model's exception can hold internals a caller must not see).
    """

    value: JSON = None
    error: str | None = None
    permanent: bool = False
    detail: str | None = None


Execute = Callable[[list[JSON]], Sequence[Result]]
"""Run a batch of stored inputs; one Result per input, in order; never raises for one bad input."""


@dataclass(frozen=True)
class Policy:
    """The worker settings the loop needs, taken from `[worker]`."""

    batch_size: int = 1
    concurrency: int = 1
    prefetch: int = 0
    lease_s: float = 60.0
    backoff_s: float = 1.0
    backoff_max_s: float = 300.0
    poll_s: float = 0.2
    heartbeat_s: float = 5.0
    retention_s: float = 7 * 24 * 3600.0

    @classmethod
    def from_spec(cls, spec: WorkerSpec, default_batch: int) -> Policy:
        return cls(
            batch_size=spec.batch_size or default_batch,
            concurrency=spec.concurrency,
            prefetch=spec.prefetch,
            lease_s=spec.lease_s,
            backoff_s=spec.backoff_s,
            backoff_max_s=spec.backoff_max_s,
            poll_s=spec.poll_s,
            heartbeat_s=min(spec.heartbeat_s, spec.lease_s / 3),
            retention_s=spec.retention_s,
        )

    @property
    def capacity(self) -> int:
        """Jobs held at once: a batch per concurrent slot plus the prefetched ones."""
        return self.batch_size * self.concurrency + self.prefetch


Beat = Callable[[WorkerState], None]


class Worker:
    """One worker process's engine; `run()` blocks until `stop()` and then drains."""

    def __init__(
        self,
        queue: JobQueue,
        execute: Execute,
        policy: Policy,
        worker_id: str,
        metrics: WorkerMetrics | None = None,
        beat: Beat | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue, self.execute, self.policy, self.id = queue, execute, policy, worker_id
        self.metrics = metrics or WorkerMetrics()
        self.beat = beat or (lambda state: None)
        self.clock = clock
        self.state = WorkerState.STARTING
        self._held: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._drained = threading.Event()
        self._last_purge = 0.0
        self._idle_s = IDLE_MIN_S

    def stop(self) -> None:
        """Ask the loop to stop claiming and drain; safe from a signal handler."""
        self._stopping.set()

    def run(self) -> None:
        """Claim and run until stopped, then shut down in order (see `_drain`)."""
        threads = [
            threading.Thread(target=self._every, args=(self.heartbeat,), name="dockyard-heartbeat"),
            threading.Thread(target=self._every, args=(self.housekeep,), name="dockyard-housekeep"),
        ]
        self.set_state(WorkerState.READY)
        for thread in threads:
            thread.daemon = True
            thread.start()
        buffer: deque[Claim] = deque()
        with ThreadPoolExecutor(
            self.policy.concurrency, thread_name_prefix="dockyard-batch"
        ) as pool:
            running: set[Future[None]] = set()
            while not self._stopping.is_set():
                self._fill(buffer, running)
                self._dispatch(pool, buffer, running)
                self._wait(running, idle=not buffer and not running)
            self._drain(buffer, running)
        self._drained.set()
        for thread in threads:
            thread.join()
        self.set_state(WorkerState.STOPPED)

    def _fill(self, buffer: deque[Claim], running: set[Future[None]]) -> None:
        with self._lock:
            room = self.policy.capacity - len(self._held)
        if room <= 0:
            return
        try:
            claims = self.queue.claim(room, self.policy.lease_s, self.id)
        except Exception as exc:  # back end down: keep living, leases protect the jobs
            log.warning("claim failed", extra={"worker": self.id, "error": repr(exc)})
            self._stopping.wait(self.policy.poll_s)
            return
        with self._lock:
            self._held.update((c.id, c) for c in claims)
        buffer.extend(claims)

    def _dispatch(
        self, pool: ThreadPoolExecutor, buffer: deque[Claim], running: set[Future[None]]
    ) -> None:
        while buffer and len(running) < self.policy.concurrency:
            size = min(self.policy.batch_size, len(buffer))
            batch = [buffer.popleft() for _ in range(size)]
            running.add(pool.submit(self._run_batch, batch))

    def _wait(self, running: set[Future[None]], idle: bool) -> None:
        """Wait for a batch to finish, or back off while the queue is empty.

        The idle wait doubles from IDLE_MIN_S up to `poll_s`, so a job submitted soon after
        the last one starts within milliseconds, while an idle worker polls rarely.
        """
        if running:
            done, _ = wait(running, timeout=self.policy.poll_s, return_when=FIRST_COMPLETED)
            running.difference_update(done)
            self._idle_s = IDLE_MIN_S
        elif idle:
            self._stopping.wait(self._idle_s)
            self._idle_s = min(self.policy.poll_s, self._idle_s * 2)
        else:
            self._idle_s = IDLE_MIN_S

    def _drain(self, buffer: deque[Claim], running: set[Future[None]]) -> None:
        """Graceful shutdown, in order."""
        # 1. Stop claiming: the loop has exited; health turns unready.
        self.set_state(WorkerState.DRAINING)
        # 2. Give back what was claimed but not started, without spending an attempt.
        for claim in buffer:
            self._forget(claim)
            self._safely(self.queue.release, claim)
        # 3. Finish the batches in flight; their leases keep being renewed meanwhile.
        wait(running)
        log.info("worker drained", extra={"worker": self.id, "released": len(buffer)})

    def _run_batch(self, batch: list[Claim]) -> None:
        self.metrics.batch_size.observe(len(batch))
        try:
            results = list(self.execute([c.job.input for c in batch]))
        except Exception as exc:  # the executor's own bug: retry every job rather than lose them
            results = [Result(error=f"{type(exc).__name__}: {exc}")] * len(batch)
        pairs = list(zip(batch, results, strict=True))
        self._ack([(c, r.value) for c, r in pairs if r.error is None])
        for claim, result in pairs:
            if result.error is not None:
                self._fail(claim, result)
        for claim in batch:
            self._forget(claim)

    def _ack(self, done: list[tuple[Claim, JSON]]) -> None:
        """Record a batch's results in one write, each a compare-and-set on its lease."""
        if not done:
            return
        try:
            recorded = self.queue.ack_many(done)
        except Exception as exc:  # back end down: the leases expire and the jobs run again
            log.warning("queue write failed", extra={"worker": self.id, "error": repr(exc)})
            recorded = [False] * len(done)
        for (claim, _), ok in zip(done, recorded, strict=True):
            self._record(claim, "done" if ok else "stale", None)

    def _fail(self, claim: Claim, result: Result) -> None:
        """Retry with backoff, or dead-letter when permanent or out of attempts."""
        job, error = claim.job, result.error or "unknown error"
        if result.permanent or job.attempts >= job.max_attempts:
            outcome = "dead" if self._safely(self.queue.dead_letter, claim, error) else "stale"
        else:
            delay = backoff(job.attempts, self.policy.backoff_s, self.policy.backoff_max_s)
            outcome = "retried" if self._safely(self.queue.nack, claim, error, delay) else "stale"
        self._record(claim, outcome, result.detail or error)

    def _record(self, claim: Claim, outcome: str, error: str | None) -> None:
        job = claim.job
        self.metrics.outcomes.labels(outcome).inc()
        if outcome in ("done", "dead"):
            self.metrics.latency.observe(max(0.0, self.clock() - job.created_at))
            self.metrics.attempts.observe(job.attempts)
        extra = {"job_id": job.id, "attempt": job.attempts, "worker": self.id, "error": error}
        log.info("job %s", outcome, extra=extra)

    def _safely(self, op: Callable[..., bool], *args: object) -> bool:
        """A queue write that may fail (back end down): the lease expiring retries the job."""
        try:
            return op(*args)
        except Exception as exc:
            log.warning("queue write failed", extra={"worker": self.id, "error": repr(exc)})
            return False

    def _forget(self, claim: Claim) -> None:
        with self._lock:
            self._held.pop(claim.id, None)

    def _every(self, task: Callable[[], None]) -> None:
        """Run `task` now and every heartbeat_s until the batches are drained."""
        task()
        while not self._drained.wait(self.policy.heartbeat_s):
            task()

    def heartbeat(self) -> None:
        """One beat: extend leases (dropping lost ones) and record liveness; nothing else."""
        with self._lock:
            held = list(self._held.values())
        try:
            kept = self.queue.extend(held, self.policy.lease_s) if held else set()
        except Exception as exc:
            log.warning("heartbeat failed", extra={"worker": self.id, "error": repr(exc)})
            return
        for lost in (c for c in held if c.id not in kept):
            log.warning("lease lost", extra={"job_id": lost.id, "worker": self.id})
        self.metrics.last_heartbeat = time.time()
        self.beat(self.state)

    def housekeep(self) -> None:
        """Refresh the depth gauges; purge expired jobs every PURGE_EVERY_S (in chunks)."""
        try:
            self.metrics.observe_queue(self.queue.stats())
            now = self.clock()
            if now - self._last_purge >= PURGE_EVERY_S:
                self._last_purge = now
                self.queue.purge_expired(self.policy.retention_s)
        except Exception as exc:
            log.warning("housekeeping failed", extra={"worker": self.id, "error": repr(exc)})

    def set_state(self, state: WorkerState) -> None:
        self.state = state
        self.beat(state)
