"""One durable `JobQueue` per stage, and the envelope an item travels in between stages.

Every stage's queue holds the same item under the same correlation id (the job's `batch`) and
idempotency key, so forwarding twice (a replica killed between forwarding and acknowledging)
stores the item once, and an item's progress is found by looking it up in each queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dockyard.runtime.queue import Job, JobQueue, MemoryQueue, NewJob, open_queue
from dockyard.runtime.queue.base import JSON, new_job_id
from dockyard.spec.jobs import Worker
from dockyard.spec.pipeline import Pipeline


def envelope(item: str, value: JSON, submitted_at: float) -> dict[str, Any]:
    """A stored envelope (a plain dict: it is JSON in the queue)."""
    return {"item": item, "value": value, "submitted_at": submitted_at}


def queue_settings(pipeline: Pipeline, stage: str) -> Worker:
    """The `[worker]`-shaped settings `open_queue` needs for one stage's queue."""
    return Worker(
        backend=pipeline.backend,
        sqlite_path=f"{pipeline.queue_dir}/{stage}.sqlite3",
        redis_url=pipeline.redis_url,
        namespace=f"{pipeline.namespace}:{stage}",
    )


Opener = Callable[[Worker, Path, Mapping[str, str]], JobQueue]


class StageQueues:
    """The queues of a pipeline's stages, opened once and shared by whoever runs in-process."""

    def __init__(
        self,
        pipeline: Pipeline,
        root: Path,
        environ: Mapping[str, str],
        opener: Opener = open_queue,
    ) -> None:
        """`environ`: the process's environment, from its entry point (the Redis login)."""
        self.pipeline = pipeline
        self.names = tuple(s.name for s in pipeline.stages)
        self._queues: dict[str, JobQueue] = {}
        for name in self.names:
            self._queues[name] = (
                MemoryQueue()
                if pipeline.backend == "memory"
                else opener(queue_settings(pipeline, name), root, environ)
            )

    def __getitem__(self, stage: str) -> JobQueue:
        return self._queues[stage]

    def items(self) -> Sequence[tuple[str, JobQueue]]:
        """(stage, queue) pairs in pipeline order."""
        return [(name, self._queues[name]) for name in self.names]

    def submit(
        self,
        value: JSON,
        key: str | None = None,
        now: float | None = None,
        owner: str | None = None,
    ) -> Job:
        """Put a new item on the first stage's queue; a known `key` returns the stored item.

        `owner` is the submitting API key's id: recorded on the first stage's job, and it
        namespaces the idempotency key, so one caller's key never finds another caller's item.
        """
        first = self.pipeline.stages[0]
        submitted = time.time() if now is None else now
        item = new_job_id(submitted)
        new = NewJob(
            envelope(item, value, submitted),
            (f"{owner}/{key}" if owner is not None else key) if key else item,
            batch=item,
            max_attempts=first.max_attempts,
            owner=owner,
        )
        return self[first.name].put_many([new])[0]

    def trace(self, item: str) -> list[tuple[str, Job | None]]:
        """The item's job in every stage's queue, in pipeline order (None where not reached)."""
        return [(name, _find(queue, item)) for name, queue in self.items()]

    def close(self) -> None:
        for queue in self._queues.values():
            queue.close()


def _find(queue: JobQueue, item: str) -> Job | None:
    found = queue.list(batch=item, limit=1)
    return found[0] if found else None


def forward(
    queue: JobQueue,
    envelopes: Sequence[Mapping[str, Any]],
    values: Sequence[JSON],
    max_attempts: int,
) -> list[Job]:
    """Put each item's new value on the next stage's queue, once per item whatever the retries."""
    jobs = [
        NewJob(
            envelope(e["item"], v, e["submitted_at"]),
            e["item"],
            batch=e["item"],
            max_attempts=max_attempts,
        )
        for e, v in zip(envelopes, values, strict=True)
    ]
    return queue.put_many(jobs) if jobs else []
