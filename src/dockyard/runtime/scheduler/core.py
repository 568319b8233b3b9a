"""The scheduler: fire jobs when their cron says, apply the overlap policy, record every run.

`tick()` does one round and never sleeps, so tests drive it with an injected clock; only
`run_forever` waits. Missed fire times (the scheduler was down) are not caught up: the next
round fires once and the job's next time is computed from now, like a CronJob with no
startingDeadlineSeconds backlog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dockyard.runtime.scheduler.history import History, Run, RunState
from dockyard.runtime.scheduler.launcher import Handle, Launcher
from dockyard.runtime.scheduler.metrics import ScheduleMetrics
from dockyard.spec.schedule import ScheduledJob

log = logging.getLogger("dockyard.scheduler")

Clock = Callable[[], float]
IDLE_MAX_S = 1.0


@dataclass
class Active:
    """A run in progress."""

    run: Run
    job: ScheduledJob
    handle: Handle


class Scheduler:
    """Fires the spec's scheduled jobs through a launcher and keeps their history."""

    def __init__(
        self,
        jobs: Sequence[ScheduledJob],
        history: History,
        launcher: Launcher,
        clock: Clock = time.time,
        metrics: ScheduleMetrics | None = None,
    ) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.history, self.launcher, self.clock = history, launcher, clock
        self.metrics = metrics or ScheduleMetrics()
        self.active: list[Active] = []
        self.next_at: dict[str, float] = {}
        self._stopping = threading.Event()
        now = clock()
        for job in jobs:
            self._plan(job, now)

    def _plan(self, job: ScheduledJob, after: float) -> None:
        due = job.schedule.next_after(datetime.fromtimestamp(after, UTC)).timestamp()
        self.next_at[job.name] = due
        self.metrics.next_run.labels(job.name).set(due)

    # ---- one round ---------------------------------------------------------------------
    def tick(self) -> list[Run]:
        """Reap finished runs, start requested and due ones; returns the runs it recorded."""
        now = self.clock()
        recorded = self.reap(now)
        for name in self.history.take_triggers():
            recorded += self._trigger(name, now)
        for job in self.jobs.values():
            due = self.next_at[job.name]
            if due <= now:
                recorded.append(self.fire(job, "schedule", due, now))
                self._plan(job, now)
        return recorded

    def _trigger(self, name: str, now: float) -> list[Run]:
        job = self.jobs.get(name)
        if job is None:
            log.warning("trigger for an unknown job ignored", extra={"job": name})
            return []
        return [self.fire(job, "manual", None, now)]

    def fire(self, job: ScheduledJob, trigger: str, due: float | None, now: float) -> Run:
        """Start a run of `job`, or record it skipped when the overlap policy says so."""
        busy = [a.run.id for a in self.active if a.job.name == job.name]
        if busy and job.overlap == "skip":
            reason = f"overlap=skip: run {busy[0]} was still running"
            self.metrics.runs.labels(job.name, "skipped").inc()
            log.info("run skipped", extra={"job": job.name, "reason": reason})
            return self.history.start(job.name, trigger, now, due, RunState.SKIPPED, reason)
        run = self.history.start(job.name, trigger, now, due)
        try:
            handle = self.launcher.start(job, run.id)
        except OSError as exc:  # no such program, no docker CLI: a failed run, not a crash
            return self._record(run, job, now, 127, "", f"could not start: {exc}")
        self.active.append(Active(run, job, handle))
        self.metrics.running.labels(job.name).inc()
        log.info("run started", extra={"job": job.name, "run": run.id, "trigger": trigger})
        return run

    def reap(self, now: float) -> list[Run]:
        """Record runs that exited; kill those past their timeout first."""
        done: list[Run] = []
        for active in list(self.active):
            code, reason = active.handle.poll(), ""
            timeout = active.job.timeout_s
            if code is None and timeout is not None and now - active.run.started_at > timeout:
                active.handle.kill()
                code = active.handle.poll()
                # it may have finished on its own just before the kill: then it did not time out
                reason = f"killed after timeout_s={timeout:g}" if code else ""
            if code is None:
                continue
            self.active.remove(active)
            self.metrics.running.labels(active.job.name).dec()
            tail = active.handle.log_tail(active.job.log_lines)
            done.append(self._record(active.run, active.job, now, code, tail, reason))
        return done

    def _record(
        self, run: Run, job: ScheduledJob, now: float, code: int, tail: str, reason: str
    ) -> Run:
        finished = self.history.finish(run.id, now, code, tail, reason)
        self.metrics.runs.labels(job.name, finished.state.value).inc()
        self.metrics.duration.labels(job.name).observe(max(0.0, now - run.started_at))
        if finished.state is RunState.SUCCEEDED:
            self.metrics.last_success.labels(job.name).set(now)
        self.history.prune(job.name, job.history_limit)
        log.info("run finished", extra={"job": job.name, "run": run.id, "exit_code": code})
        return finished

    # ---- lifecycle ---------------------------------------------------------------------
    def run_forever(self, grace_s: float = 30.0) -> None:
        """Tick until `stop()`, then shut down (see `_shutdown`)."""
        lost = self.history.mark_lost(self.clock())
        if lost:
            log.warning("runs left by a previous scheduler marked lost", extra={"count": lost})
        while not self._stopping.is_set():
            self.tick()
            self._stopping.wait(self._idle())
        self._shutdown(grace_s)

    def _idle(self) -> float:
        """Sleep until the next due time, but at most a second (triggers, exits, timeouts)."""
        soonest = min(self.next_at.values(), default=self.clock() + IDLE_MAX_S)
        return max(0.01, min(IDLE_MAX_S, soonest - self.clock()))

    def stop(self) -> None:
        """Ask `run_forever` to stop firing and shut down; safe from a signal handler."""
        self._stopping.set()

    def _shutdown(self, grace_s: float) -> None:
        """1. fire nothing more, 2. let runs finish for `grace_s`, 3. kill and record the rest."""
        deadline = time.monotonic() + grace_s
        while self.active and time.monotonic() < deadline:
            self.reap(self.clock())
            time.sleep(0.1)
        for active in self.active:
            active.handle.kill()
        self.reap(self.clock())

    def run_now(self, name: str, poll_s: float = 0.1) -> Run:
        """Start `name` at once and wait for it to end (the scheduler's one-shot mode)."""
        run = self.fire(self.jobs[name], "manual", None, self.clock())
        while any(a.run.id == run.id for a in self.active):
            time.sleep(poll_s)
            self.reap(self.clock())
        return self.history.get(run.id)
