"""Preprocessing pipelines: stages connected by durable queues, each in its own container."""

from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.pipeline.queues import StageQueues
from dockyard.runtime.pipeline.service import PipelineService
from dockyard.runtime.pipeline.stage import StageExecutor, stage_worker
from dockyard.runtime.pipeline.status import ItemState, ItemStatus, item_status

__all__ = [
    "ItemState",
    "ItemStatus",
    "PipelineMetrics",
    "PipelineService",
    "StageExecutor",
    "StageQueues",
    "item_status",
    "stage_worker",
]
