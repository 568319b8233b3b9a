"""Service or job: does a container run until stopped, or run to completion and exit?

Health rules apply to services only: a job has no port to probe and its exit code is its
health. Decided, in order, from:
1. Kubernetes kind: Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod serve; Job, CronJob run
   to completion (`parse.k8s.SERVING_KINDS`).
2. The command (CMD + ENTRYPOINT, or Compose `command`): a server (`uvicorn`, `vllm`,
   `dockyard.runtime serve`, ...) is a service; a known batch step (`train`, `finetune`,
   `evaluate`, `batch`, `migrate`, `backfill`, `ingest`, `export`, `convert`, ...) is a job.
3. Compose `restart`: `always` / `unless-stopped` mean a service; `"no"` / `on-failure` a job.
4. Otherwise an exposed or published port means a service; no port, a job.
"""

from __future__ import annotations

import re
from typing import Literal

from dockyard.doctor.knowledge import SERVER
from dockyard.doctor.parse.compose import Service

Workload = Literal["service", "job"]
JOB_COMMAND = re.compile(  # letters around the word end it, `_` and `.` do not: batch_score
    r"(?<![A-Za-z])(train(ing)?|finetune|fine[-_]tune|eval(uate)?|batch|migrate|migrations?|backfill|"
    r"ingest|export|convert|quantize|preprocess|download[-_]models?|index(er)?|embed[-_]corpus|"
    r"torchrun|accelerate\s+launch|deepspeed)(?![A-Za-z])",
    re.I,
)


def workload(command: str, has_port: bool, restart: str = "") -> Workload:
    """Decide service or job from a container's command, port and (Compose) restart policy."""
    if SERVER.search(command):
        return "service"
    if JOB_COMMAND.search(command):
        return "job"
    if restart in ("always", "unless-stopped"):
        return "service"
    if restart == "no" or restart.startswith("on-failure"):
        return "job"
    return "service" if has_port else "job"


def service_workload(service: Service) -> Workload:
    """A Compose service's workload, from its command, entrypoint, ports and restart policy."""
    parts = (service.get("entrypoint"), service.get("command"))
    command = " ".join(
        " ".join(map(str, p)) if isinstance(p, list) else str(p or "") for p in parts
    )
    has_port = bool(service.get("ports") or service.get("expose") or service.get("healthcheck"))
    return workload(command, has_port, str(service.get("restart") or ""))
