"""Every stage in this process, one thread each: the development mode of `dockyard serve`."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.pipeline.queues import StageQueues
from dockyard.runtime.pipeline.stage import check_modules, load_stage, stage_worker
from dockyard.runtime.worker.loop import Execute, Worker
from dockyard.spec.pipeline import Pipeline

log = logging.getLogger("dockyard.pipeline")


class LocalStages:
    """Loads each stage's model and runs its worker loop in a thread until `stop()`."""

    def __init__(
        self,
        pipeline: Pipeline,
        queues: StageQueues,
        metrics: PipelineMetrics,
        in_container: bool = False,
    ) -> None:
        """`in_container`: the stages' specs and artifacts are an image's (the entry point says)."""
        self.pipeline, self.queues, self.metrics = pipeline, queues, metrics
        self.in_container = in_container
        self._workers: list[Worker] = []
        self._threads: list[threading.Thread] = []

    def start(self, dirs: Mapping[str, Path]) -> None:
        """Set up every model first (a broken stage fails start-up), then start the loops."""
        check_modules(dirs, self.in_container)
        models: dict[str, Execute] = {
            name: load_stage(root, self.in_container) for name, root in dirs.items()
        }
        for name, predict in models.items():
            self.start_one(name, predict)

    def start_one(self, name: str, predict: Execute) -> Worker:
        """Run stage `name` with an already loaded model (tests hand in plain callables)."""
        worker = stage_worker(
            self.pipeline, name, predict, self.queues, self.metrics, f"local-{name}-{os.getpid()}"
        )
        thread = threading.Thread(target=worker.run, name=f"dockyard-stage-{name}", daemon=True)
        thread.start()
        self._workers.append(worker)
        self._threads.append(thread)
        log.info("stage started", extra={"stage": name})
        return worker

    def stop(self, timeout: float = 30.0) -> None:
        """Drain every stage: stop claiming, release what was not started, finish the rest."""
        for worker in self._workers:
            worker.stop()
        for thread in self._threads:
            thread.join(timeout)
        self._workers.clear()
        self._threads.clear()
