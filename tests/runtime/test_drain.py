"""One drain contract for every long-running process, shown on real processes under load.

HTTP processes (API in one and two processes, router, pipeline front): after SIGTERM, /readyz
answers 503, new work gets 503 "draining", every request in flight completes, exit code 0.
Processes without HTTP (worker, pipeline stage, scheduler): the work in flight completes and
the process exits 0.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dockyard.runtime.pipeline.queues import StageQueues
from dockyard.runtime.queue import JobState, NewJob, open_queue
from dockyard.runtime.scheduler.history import History
from dockyard.spec import load_spec
from tests.fixtures.projects import MODELS, make_project
from tests.support.ports import free_port
from tests.support.procs import Process
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

GATED = MODELS / "gated.py"
SLOW_S = 1.5  # for the processes without HTTP: each batch holds the model this long
IN_FLIGHT = 6
MAX_IN_FLIGHT = 40  # with --workers 2, until both processes hold a batch


@dataclass
class Target:
    """A running HTTP process, the request that gives it work, and where its model is held."""

    proc: Process
    url: str
    path: str
    body: dict[str, object]
    model_dir: Path
    processes: int = 1  # serving processes: each must hold work when SIGTERM comes

    def entered(self) -> set[str]:
        """The model's processes that hold a batch (the gated model writes entered-<pid>)."""
        return {p.name for p in self.model_dir.glob("entered-*")}


def _gated_project(root: Path, extra: str = "") -> Path:
    root.mkdir(parents=True)
    shutil.copy(GATED, root)
    (root / "dockyard.toml").write_text(
        '[project]\nname = "gated"\n[model]\nentrypoint = "gated:Gated"\n' + extra
    )
    return root


@pytest.fixture
def started() -> Iterator[list[Process]]:
    procs: list[Process] = []
    yield procs
    for proc in reversed(procs):
        proc.stop()


def _python(tmp: Path, name: str, *args: str) -> tuple[Process, str]:
    port = free_port()
    command = [sys.executable, "-m", *args, "--host", "127.0.0.1", "--port", str(port)]
    env = {"DOCKYARD_METRICS_PORT": "0"}
    return Process(command, tmp / f"{name}.log", env), f"http://127.0.0.1:{port}"


def _api(tmp: Path, procs: list[Process], workers: int = 1) -> Target:
    root = _gated_project(tmp / "api", "[serving]\nmax_batch_size = 16\n")
    args = ("dockyard.runtime", "serve", str(root), "--workers", str(workers))
    proc, url = _python(tmp, "api", *args)
    procs.append(proc)
    return Target(proc, url, "/predict", {"inputs": [1.0]}, root, processes=workers)


def _router(tmp: Path, procs: list[Process]) -> Target:
    upstream = _api(tmp, procs)
    upstream.proc.wait_http(upstream.url + "/readyz")
    root = _gated_project(
        tmp / "router",
        "[router]\nenabled = true\nhealth_interval_s = 0.2\n"
        f'[[router.versions]]\nname = "a"\nurl = "{upstream.url}"\nweight = 1\n',
    )
    proc, url = _python(tmp, "router", "dockyard.runtime.router", str(root))
    procs.append(proc)
    return Target(proc, url, "/predict", {"inputs": [1.0]}, upstream.model_dir)


def _pipeline_project(root: Path, model: str = "slow") -> Path:
    """A one-stage pipeline (stage "slow") whose model is the fixture `slow` or `gated`."""
    stage = root / "stages" / "slow"
    stage.mkdir(parents=True)
    shutil.copy(MODELS / "slow.py" if model == "slow" else GATED, stage)
    entry = "slow:Slow" if model == "slow" else "gated:Gated"
    (stage / "dockyard.toml").write_text(
        f'[project]\nname = "stage"\n[model]\nentrypoint = "{entry}"\n'
    )
    (root / "dockyard.toml").write_text(
        f'[project]\nname = "pipe"\n[model]\nentrypoint = "stages.slow.{entry}"\n'
        '[pipeline]\nbackend = "sqlite"\nqueue_dir = "queues"\npoll_s = 0.05\n'
        '[[pipeline.stages]]\nname = "slow"\npath = "stages/slow"\nbatch_size = 16\n'
    )
    return root


def _front(tmp: Path, procs: list[Process]) -> Target:
    root = _pipeline_project(tmp / "pipe", "gated")
    args = ("dockyard.runtime.pipeline", "serve", str(root), "--stages", "local")
    proc, url = _python(tmp, "front", *args)
    procs.append(proc)
    return Target(proc, url, "/pipeline", {"input": 1.0}, root / "stages" / "slow")


HTTP: dict[str, Callable[[Path, list[Process]], Target]] = {
    "api": _api,
    "api-2-workers": lambda tmp, procs: _api(tmp, procs, workers=2),
    "router": _router,
    "pipeline-front": _front,
}


@pytest.mark.parametrize("kind", sorted(HTTP))
def test_http_process_drains_and_exits_0(kind: str, tmp_path: Path, started: list[Process]) -> None:
    target = HTTP[kind](tmp_path, started)
    target.proc.wait_http(target.url + "/readyz", timeout=60)
    with concurrent.futures.ThreadPoolExecutor(MAX_IN_FLIGHT) as pool:

        def send() -> concurrent.futures.Future[httpx.Response]:
            return pool.submit(httpx.post, target.url + target.path, json=target.body, timeout=30)

        work = [send() for _ in range(IN_FLIGHT)]

        def every_process_holds_work() -> bool:
            # The kernel picks the process of each connection: send more until each has some.
            if len(target.entered()) < target.processes and len(work) < MAX_IN_FLIGHT:
                work.append(send())
                time.sleep(0.1)
            return len(target.entered()) >= target.processes

        # The model holds every batch until released: the drain window stays open however
        # slow this machine is.
        eventually(every_process_holds_work, timeout=30, what="work in every process")
        time.sleep(0.5)  # the other requests reach the process and queue behind the first
        target.proc.proc.send_signal(signal.SIGTERM)
        eventually(lambda: httpx.get(target.url + "/readyz").status_code == 503)
        refused = httpx.post(target.url + target.path, json=target.body, timeout=5)
        assert not any(f.done() for f in work)
        (target.model_dir / "release").touch()
        answers = [f.result() for f in work]
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "draining"
    assert refused.headers["retry-after"] == "1"
    assert [a.status_code for a in answers] == [200] * len(work), [a.text for a in answers]
    assert target.proc.proc.wait(30) == 0, target.proc.log.read_text()


# ---- processes without an HTTP server ---------------------------------------------------------
def test_worker_finishes_its_batch_and_exits_0(tmp_path: Path, started: list[Process]) -> None:
    root = make_project(
        tmp_path / "jobs",
        "slow",
        worker={
            "enabled": True,
            "sqlite_path": "jobs.sqlite3",
            "metrics_port": 0,
            "batch_size": 2,
            "poll_s": 0.05,
        },
    )
    queue = open_queue(load_spec(root).worker, root)
    jobs = queue.put_many([NewJob(input=SLOW_S) for _ in range(4)])
    proc = Process(
        [sys.executable, "-m", "dockyard.runtime", "worker", str(root)], tmp_path / "worker.log"
    )
    started.append(proc)
    eventually(lambda: queue.stats().count(JobState.RUNNING) == 2, timeout=30)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(30) == 0, proc.log.read_text()
    states = sorted(j.state.value for j in (queue.get(job.id) for job in jobs) if j)
    assert states == ["done", "done", "queued", "queued"]  # in flight done; the rest released
    queue.close()


def test_pipeline_stage_finishes_its_batch_and_exits_0(
    tmp_path: Path, started: list[Process]
) -> None:
    root = _pipeline_project(tmp_path / "pipe")
    spec = load_spec(root)
    queues = StageQueues(spec.pipeline, root, {})
    item = queues.submit(SLOW_S)
    command = [sys.executable, "-m", "dockyard.runtime.pipeline", "stage", "slow", str(root)]
    proc = Process(command, tmp_path / "stage.log", {"DOCKYARD_METRICS_PORT": "0"})
    started.append(proc)
    queue = queues["slow"]
    eventually(lambda: queue.stats().count(JobState.RUNNING) == 1, timeout=30)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(30) == 0, proc.log.read_text()
    job = queue.get(item.id)
    assert job is not None and job.state is JobState.DONE
    queues.close()


def test_scheduler_lets_its_run_finish_and_exits_0(tmp_path: Path, started: list[Process]) -> None:
    root = make_project(tmp_path / "sched", "echo")
    marker = tmp_path / "finished"
    code = f"import time, pathlib; time.sleep({SLOW_S}); pathlib.Path({str(marker)!r}).touch()"
    with (root / "dockyard.toml").open("a") as spec:
        spec.write(
            f'\n[[schedules]]\nname = "nightly"\ncron = "0 3 * * *"\n'
            f"command = [{sys.executable!r}, '-c', {code!r}]\n"
        )
    history = History(root / ".dockyard" / "schedule" / "history.sqlite3")
    command = [sys.executable, "-m", "dockyard.runtime.scheduler", str(root)]
    proc = Process(command, tmp_path / "scheduler.log", {"DOCKYARD_METRICS_PORT": "0"})
    started.append(proc)
    history.trigger("nightly", time.time())
    eventually(lambda: bool(history.runs("nightly")), timeout=30)
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(30) == 0, proc.log.read_text()
    assert marker.exists()
    [run] = history.runs("nightly")
    assert run.exit_code == 0
    history.close()
