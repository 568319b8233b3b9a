"""Benchmarks of the jobs pattern; results are recorded in bench/jobs.md.

    python bench/jobs.py throughput [--jobs 2048] [--batch 64]
        the embedding example (examples/embed) through a worker process on the SQLite queue,
        against the same model called in-process at the same batch size
    python bench/jobs.py overhead [--jobs 300] [--backends sqlite,redis]
        an empty (echo) model: enqueue-to-done latency of lone jobs, and jobs/s when flooded

Runs on this machine only; ratios within one run are what mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.jobs.conftest import RedisServer  # noqa: E402
from tests.jobs.procs import WorkerProcess  # noqa: E402

from dockyard.runtime.queue import JobQueue, JobState, NewJob, open_queue  # noqa: E402
from dockyard.spec import load_spec  # noqa: E402

WORDS = "the quick brown fox jumps over a lazy dog while seven bright stars fade".split()  # noqa: SIM905


def sentences(n: int) -> list[str]:
    """~12-word sentences, all different, so no cache anywhere helps."""
    words = len(WORDS)
    return [" ".join(WORDS[(i + 7 * k) % words] for k in range(12)) + f" #{i}" for i in range(n)]


def project(dest: Path, model_file: Path, entrypoint: str, **worker: Any) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_file, dest / model_file.name)
    settings = {"enabled": True, "metrics_port": 0, **worker}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    env = '[env]\nTORCH_THREADS = "2"\nTOKENIZERS_PARALLELISM = "false"\n'
    head = f'[project]\nname = "bench"\n\n[model]\nentrypoint = "{entrypoint}"\n'
    (dest / "dockyard.toml").write_text(f"{head}\n[worker]\n{body}\n\n{env}")
    return dest


def wait_ready(worker: WorkerProcess, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.heartbeat.exists() and '"ready"' in worker.heartbeat.read_text():
            return
        if not worker.alive:
            raise RuntimeError(worker.log.read_text())
        time.sleep(0.05)
    raise RuntimeError("worker never became ready")


def drain(queue: JobQueue, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while queue.stats().count(JobState.DONE) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {queue.stats().count(JobState.DONE)} of {n} done")
        time.sleep(0.01)


def in_process(texts: list[str], batch: int) -> float:
    """Sentences per second: the model called directly, best case for the same batch size."""
    sys.path.insert(0, str(REPO / "examples" / "embed"))
    from model import EmbedModel  # type: ignore[import-not-found]

    model = EmbedModel()
    model.setup()
    model.predict(texts[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.predict(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - start)


def through_worker(texts: list[str], batch: int, tmp: Path, **worker: Any) -> float:
    """Sentences per second, enqueue of the first to result of the last, worker warmed up."""
    root = project(tmp / "embed", REPO / "examples/embed/model.py", "model:EmbedModel",
                   sqlite_path=str(tmp / "embed.sqlite3"), batch_size=batch, **worker)  # fmt: skip
    queue = open_queue(load_spec(root).worker, root)
    proc = WorkerProcess(root, "bench", {"TORCH_THREADS": "2", "TOKENIZERS_PARALLELISM": "false"})
    try:
        wait_ready(proc)
        queue.put_many([NewJob(t) for t in texts[:batch]])
        drain(queue, batch)  # warm-up
        start = time.perf_counter()
        queue.put_many([NewJob(t) for t in texts])
        drain(queue, batch + len(texts))
        return len(texts) / (time.perf_counter() - start)
    finally:
        proc.stop()
        queue.close()


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved repetitions (direct, worker, direct, worker...): the machine is shared."""
    texts = sentences(args.jobs)
    direct, worker = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            direct.append(in_process(texts, args.batch))
            worker.append(through_worker(texts, args.batch, Path(tmp) / str(rep)))
    d, w = statistics.median(direct), statistics.median(worker)
    return {
        "jobs": args.jobs, "batch": args.batch, "reps": args.reps,
        "in_process_per_s": [round(x, 1) for x in direct],
        "worker_per_s": [round(x, 1) for x in worker], "ratio_of_medians": round(w / d, 3),
        "ratio_per_pair": [round(b / a, 3) for a, b in zip(direct, worker, strict=True)],
    }  # fmt: skip


def overhead(args: argparse.Namespace) -> dict[str, Any]:
    results = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        redis = RedisServer(tmp)
        if "redis" in args.backends:
            redis.start()
        try:
            for backend in args.backends:
                results[backend] = overhead_of(backend, tmp / backend, redis.url, args.jobs)
        finally:
            redis.stop()
    return results


def overhead_of(backend: str, tmp: Path, redis_url: str, n: int) -> dict[str, float]:
    settings = {"backend": backend, "sqlite_path": str(tmp / "q.sqlite3"), "redis_url": redis_url,
                "namespace": f"bench{time.time_ns()}", "batch_size": 64}  # fmt: skip
    root = project(tmp, REPO / "tests/jobs/models/echo.py", "echo:Echo", **settings)
    queue = open_queue(load_spec(root).worker, root)
    proc = WorkerProcess(root, "bench")
    try:
        wait_ready(proc)
        lone = []
        for i in range(n):
            start = time.perf_counter()
            (job,) = queue.put_many([NewJob(f"x{i}")])
            while (found := queue.get(job.id)) is None or found.state is not JobState.DONE:
                time.sleep(0.0005)
            lone.append(time.perf_counter() - start)
        start = time.perf_counter()
        queue.put_many([NewJob(f"y{i}") for i in range(10 * n)])
        drain(queue, 11 * n)
        flood = 10 * n / (time.perf_counter() - start)
    finally:
        proc.stop()
        queue.close()
    lone.sort()
    return {
        "lone_p50_ms": round(1000 * statistics.median(lone), 2),
        "lone_p95_ms": round(1000 * lone[int(0.95 * len(lone))], 2),
        "flood_jobs_per_s": round(flood, 1),
        "flood_us_per_job": round(1e6 / flood, 1),
    }


def main() -> None:
    raw = argparse.RawTextHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("what", choices=["throughput", "overhead"])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=["sqlite", "redis"])
    args = parser.parse_args()
    if args.what == "throughput":
        args.jobs = args.jobs or 2048
        print(json.dumps(throughput(args), indent=2))
    else:
        args.jobs = args.jobs or 300
        print(json.dumps(overhead(args), indent=2))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
