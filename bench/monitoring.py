"""Throughput of /predict on examples/digits with model monitoring on and off.

Monitoring on = the defaults (every prediction recorded to SQLite for feedback joins, input drift
windows); off = [monitoring.feedback] and [monitoring.drift] disabled. Each rep starts a fresh
server; reps alternate on/off so machine noise hits both alike.

Run: python bench/monitoring.py [--duration 10] [--reps 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "examples" / "digits"
OFF = "\n[monitoring.feedback]\nenabled = false\n\n[monitoring.drift]\nenabled = false\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def project(monitoring: bool) -> Path:
    root = Path(tempfile.mkdtemp(prefix="dockyard-bench-monitor-")) / "digits"
    shutil.copytree(DIGITS, root, ignore=shutil.ignore_patterns(".dockyard"))
    if not monitoring:
        with (root / "dockyard.toml").open("a") as spec:
            spec.write(OFF)
    return root


async def client(port: int, body: bytes, stop: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    while time.monotonic() < stop:
        writer.write(head + body)
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        counts[0 if b" 200 " in status else 1] += 1
    writer.close()


async def load(port: int, body: bytes, seconds: float, connections: int) -> tuple[int, int]:
    counts = [0, 0]
    stop = time.monotonic() + seconds
    await asyncio.gather(*(client(port, body, stop, counts) for _ in range(connections)))
    return counts[0], counts[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (robust on a busy machine, unlike req/s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(monitoring: bool, args: argparse.Namespace, body: bytes) -> tuple[float, float]:
    root, port = project(monitoring), free_port()
    command = [sys.executable, "-m", "dockyard.runtime", "serve", str(root), "--host",
               "127.0.0.1", "--port", str(port), "--no-access-log"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(load(port, body, args.warmup, args.connections))
        cpu = cpu_seconds(server.pid)
        ok, failed = asyncio.run(load(port, body, args.duration, args.connections))
        time.sleep(0.5)  # let the recorder finish what this load queued: it counts too
        cpu = cpu_seconds(server.pid) - cpu
        if failed:
            raise SystemExit(f"{failed} requests failed")
        return ok / args.duration, cpu / ok * 1e6
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    row = json.loads((DIGITS / "eval.jsonl").read_text().splitlines()[0])
    body = json.dumps({"inputs": [row["input"]]}).encode()
    rates: dict[str, list[float]] = {"off": [], "on": []}
    costs: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(args.reps):
        for mode in ("off", "on"):
            rate, cost = run(mode == "on", args, body)
            rates[mode].append(rate)
            costs[mode].append(cost)
            print(f"monitoring {mode:3}: {rate:8.0f} req/s {cost:7.1f} CPU-us/request", flush=True)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    c_off, c_on = statistics.median(costs["off"]), statistics.median(costs["on"])
    print(f"median req/s off {off:.0f}, on {on:.0f}: on/off = {on / off:.3f}")
    print(
        f"median server CPU-us/request off {c_off:.1f}, on {c_on:.1f}: on/off = {c_on / c_off:.3f}"
    )


if __name__ == "__main__":
    main()
