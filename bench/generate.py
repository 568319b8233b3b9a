"""Benchmark of streamed generations (examples/generate); results are recorded in bench/generate.md.

    python bench/generate.py [--conns 1,16,64] [--tokens 64] [--duration 8]
                             [--systems dockyard,fastapi,litserve] [--drops 1000]

- the limits, measured right before each server run: the model in-process stepping a full batch
  of C sequences (tokens/s = C / step time; at C = 1 the single-sequence step), and the same
  model running the clients' workload in-process (continuous batching with no server: each
  sequence is released and a new prompt started after --tokens characters, so prefills count);
- dockyard: `dockyard serve examples/generate`, POST /generate_stream (SSE), the model in its own
  process (the default); dockyard-thread: the same with `executor = "thread"` (the model on the
  server's thread);
- fastapi: plain FastAPI StreamingResponse, one generation per request (bench/generate_peers.py);
- litserve: LitServe stream=True, max_batch_size 64 (needs `pip install litserve`).
Each of C clients streams generations of --tokens characters back to back for --duration s.
Then --drops streams are opened against Dockyard and dropped after a few chunks: the batch must
be empty afterwards and the server's RSS must not grow.
Runs on this machine only; ratios within one run are what mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "generate"
PROMPTS = ["The harbour ", "A ship is ", "In the sail loft ", "The riggers ", "At night "]
# One intra-op thread everywhere: set_num_threads is per thread, OMP_NUM_THREADS covers all.
ENV = {**os.environ, "TORCH_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}


@dataclass
class Result:
    """One system at one concurrency."""

    tokens: int = 0
    seconds: float = 0.0
    ttft: list[float] = field(default_factory=list)
    per_token: list[float] = field(default_factory=list)
    errors: int = 0

    def row(self) -> dict[str, float]:
        return {
            "tok_s": self.tokens / self.seconds if self.seconds else 0.0,
            "ttft_p50_ms": 1000 * pct(self.ttft, 50),
            "ttft_p99_ms": 1000 * pct(self.ttft, 99),
            "per_token_ms": 1000 * statistics.mean(self.per_token) if self.per_token else 0.0,
            "errors": self.errors,
        }


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


# ---- the limit: the model in-process --------------------------------------------------------
class Limit:
    """The model in-process; measured again right before each server run (the machine is shared,
    so a ratio means something only between numbers taken close together)."""

    def __init__(self) -> None:
        sys.path.insert(0, str(EXAMPLE))
        import torch
        from model import CharLM

        torch.set_num_threads(1)
        self.model = CharLM()
        self.model.artifacts = {"weights": EXAMPLE / "artifacts" / "charlm.pt"}
        self.model.setup()

    def measure(self, conns: int, tokens: int, steps: int = 50) -> dict[str, float]:
        """Best of three, for a full batch of `conns` sequences: the decode step alone (tokens/s
        and step time), and the same workload as the clients' (each sequence restarts with a new
        prompt after `tokens` characters, so prefills join the batch) with no server around it."""
        from dockyard.runtime.contract import GenerationParams

        params = GenerationParams(max_tokens=tokens)
        step = min(self._step_time(conns, params, steps) for _ in range(3))
        states = [self.model.start(PROMPTS[i % 5], params) for i in range(conns)]
        made = [i * tokens // conns for i in range(conns)]  # restarts spread over the steps

        def generate() -> None:  # one step of continuous batching, in-process
            for i, n in enumerate(made):
                if n >= tokens:
                    self.model.release(states[i])
                    states[i], made[i] = self.model.start(PROMPTS[i % 5], params), 0
            self.model.step(states)
            for i in range(conns):
                made[i] += 1

        loop = min(self._timed(generate, steps) for _ in range(3))
        for state in states:
            self.model.release(state)
        return {"tok_s": conns / step, "step_ms": 1000 * step, "loop_tok_s": conns / loop}

    def _step_time(self, conns: int, params: Any, steps: int) -> float:
        """Seconds per step of `conns` fresh sequences (fresh: the context must not fill up)."""
        states = [self.model.start(PROMPTS[i % 5], params) for i in range(conns)]
        self.model.step(states)
        seconds = self._timed(lambda: self.model.step(states), steps)
        for state in states:
            self.model.release(state)
        return seconds

    @staticmethod
    def _timed(work: Any, steps: int) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            work()
        return (time.perf_counter() - started) / steps


# ---- servers ---------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def thread_example() -> Path:
    """A copy of the example with the model on the server's thread (`executor = "thread"`)."""
    copy = Path(tempfile.mkdtemp(prefix="generate-thread-")) / "generate"
    shutil.copytree(EXAMPLE, copy)
    spec = copy / "dockyard.toml"
    spec.write_text(spec.read_text().replace("[serving]\n", '[serving]\nexecutor = "thread"\n'))
    return copy


def start(system: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    if system.startswith("dockyard"):
        project = thread_example() if system == "dockyard-thread" else EXAMPLE
        command = [sys.executable, "-m", "dockyard.runtime", "serve", str(project),
                   "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]  # fmt: skip
    else:
        python = os.environ.get("PEER_PYTHON", sys.executable)
        command = [python, str(REPO / "bench" / "generate_peers.py"), system, str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=ENV, start_new_session=True
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{system} exited:\n{log.read_text()[-3000:]}")
        try:
            body = {"input": "The ", "max_tokens": 2, "parameters": {"max_tokens": 2}}
            if system.startswith("dockyard"):
                body.pop("max_tokens")
            else:
                body.pop("parameters")
            r = httpx.post(f"http://127.0.0.1:{port}/generate_stream", json=body, timeout=5)
            if r.status_code == 200 and b'"chunk"' in r.content:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"{system} never answered:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server and every process it started (LitServe's inference workers outlive a
    terminated parent and keep a core busy, skewing every later measurement)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    time.sleep(1)  # the group's other processes are not our children: give them a moment
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def body_for(system: str, prompt: str, tokens: int) -> dict[str, Any]:
    if system.startswith("dockyard"):
        return {"input": prompt, "parameters": {"max_tokens": tokens}}
    return {"input": prompt, "max_tokens": tokens}


async def one_stream(port: int, body: dict[str, Any], result: Result, stop_after: int = 0) -> None:
    """One streamed generation over a raw socket (httpx's streaming costs more CPU than the
    servers under test: it capped every system at the same rate)."""
    payload = json.dumps(body).encode()
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /generate_stream HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(payload) + payload
    )
    first = last = 0.0
    count = 0
    head = b""
    try:
        while data := await reader.read(65536):
            if not head:
                head = data[:12]
            n = data.count(b'"chunk"')
            if not n:
                continue
            now = time.perf_counter()
            if count == 0:
                first = now
            count += n
            last = now
            if stop_after and count >= stop_after:
                return  # closing the socket mid-stream: the client is gone
    finally:
        writer.close()
    if not head.endswith(b"200") and b" 200 " not in head:
        result.errors += 1
        return
    result.tokens += count
    result.ttft.append(first - started)
    if count > 1:
        result.per_token.append((last - first) / (count - 1))


async def load(
    system: str, port: int, conns: int, tokens: int, duration: float, stagger: float
) -> Result:
    """C clients streaming back to back. Client i starts i/C of `stagger` seconds late, as
    independent users would (started together, equal-length generations stay in lockstep: every
    stream ends at the same step and all C prompts arrive at once); streams that begin before
    every client has started are not counted."""
    warm = Result()
    await asyncio.gather(
        *(one_stream(port, body_for(system, PROMPTS[i % 5], 8), warm) for i in range(conns))
    )
    result = Result()
    begun = time.perf_counter()
    counted_from = begun + stagger
    deadline = counted_from + duration

    async def worker(i: int) -> None:
        await asyncio.sleep(stagger * i / conns)
        while (now := time.perf_counter()) < deadline:
            into = result if now >= counted_from else warm
            await one_stream(port, body_for(system, PROMPTS[i % 5], tokens), into)

    await asyncio.gather(*(worker(i) for i in range(conns)))
    result.seconds = time.perf_counter() - counted_from
    return result


def rss_kb(pid: int) -> int:
    """The resident memory of `pid` and every process under it (the model's process too)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1])
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += rss_kb(int(child))
    return total


def gauge(port: int, name: str) -> float:
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1.0


async def drops(port: int, n: int, conns: int = 64) -> None:
    gate = asyncio.Semaphore(conns)

    async def one(i: int) -> None:
        async with gate:
            body = body_for("dockyard", PROMPTS[i % 5], 10_000)
            await one_stream(port, body, Result(), stop_after=5)

    await asyncio.gather(*(one(i) for i in range(n)))


def drop_test(n: int, log: Path) -> dict[str, float]:
    port = free_port()
    proc = start("dockyard", port, log)
    try:
        asyncio.run(drops(port, 200))  # warm: allocator pools, connection buffers
        time.sleep(1)
        before = rss_kb(proc.pid)
        asyncio.run(drops(port, n))
        time.sleep(1)
        after = rss_kb(proc.pid)
        return {
            "rss_before_mb": before / 1024,
            "rss_after_mb": after / 1024,
            "active_after": gauge(port, "dockyard_generation_active_sequences"),
            "waiting_after": gauge(port, "dockyard_generation_waiting_sequences"),
            "cancelled": gauge(port, 'dockyard_generation_cancelled_total{cause="disconnect"}'),
        }
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", default="1,16,64")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--systems", default="dockyard,fastapi,litserve")
    parser.add_argument("--drops", type=int, default=1000)
    parser.add_argument(
        "--stagger",
        type=float,
        default=2.0,
        help="seconds over which the clients' first streams start (0: together)",
    )
    args = parser.parse_args()
    conns = [int(c) for c in args.conns.split(",")]
    systems = args.systems.split(",")
    log = Path(tempfile.mkdtemp(prefix="generate-bench-")) / "servers.log"
    report: dict[str, Any] = {}
    limit = Limit()
    for system in [s for s in systems if s != "limit"]:
        port = free_port()
        try:
            proc = start(system, port, log)
        except RuntimeError as exc:
            print(f"{system}: not run ({str(exc)[:300]})", flush=True)
            continue
        try:
            for c in conns:
                limits = report.setdefault("limit", {}).setdefault(system, {})
                limits[c] = limit.measure(c, args.tokens)
                row = asyncio.run(
                    load(system, port, c, args.tokens, args.duration, args.stagger)
                ).row()
                report.setdefault(system, {})[c] = row
                print(system, c, {k: round(v, 2) for k, v in row.items()},
                      "limit", report["limit"][system][c], flush=True)  # fmt: skip
        finally:
            stop(proc)
    if args.drops:
        report["drops"] = drop_test(args.drops, log)
        print("drops", {k: round(v, 2) for k, v in report["drops"].items()}, flush=True)
    print_table(report, conns)


def print_table(report: dict[str, Any], conns: list[int]) -> None:
    limits = report.get("limit", {})
    print("\n| system | streams | tokens/s | limit: step tokens/s (step ms) | vs step limit "
          "| limit: in-process loop tokens/s | vs loop limit | TTFT p50 ms | TTFT p99 ms "
          "| TTFT p50 in steps | per-token ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns:
        for system in ("dockyard", "dockyard-thread", "fastapi", "litserve"):
            row = report.get(system, {}).get(c)
            if not row:
                continue
            lim = limits[system][c]
            print(f"| {system} | {c} | {row['tok_s']:.0f} | {lim['tok_s']:.0f} "
                  f"({lim['step_ms']:.2f}) | {row['tok_s'] / lim['tok_s']:.2f} "
                  f"| {lim['loop_tok_s']:.0f} | {row['tok_s'] / lim['loop_tok_s']:.2f} "
                  f"| {row['ttft_p50_ms']:.1f} | {row['ttft_p99_ms']:.1f} "
                  f"| {row['ttft_p50_ms'] / lim['step_ms']:.1f} "
                  f"| {row['per_token_ms']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
