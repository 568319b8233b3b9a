"""Scheduled execution: cron-timed runs in fresh processes or containers, with a history."""

from dockyard.runtime.scheduler.core import Scheduler
from dockyard.runtime.scheduler.history import History, Run, RunState
from dockyard.runtime.scheduler.launcher import Handle, Launcher, ProcessLauncher

__all__ = ["Handle", "History", "Launcher", "ProcessLauncher", "Run", "RunState", "Scheduler"]
