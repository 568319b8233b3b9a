"""Cold start of `dockyard serve` for an example: wall seconds to the first correct answer and
the server's CPU seconds at that moment (from /proc; steadier than wall time on a shared machine).

    python bench/coldstart_cpu.py [--python PY] [--reps 5] digits
Compare two checkouts by giving each one's interpreter (a venv with it installed) as --python.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def once(python: str, workload: str, port: int) -> tuple[float, float]:
    golden = json.loads((EXAMPLES / workload / "golden.jsonl").read_text().splitlines()[0])
    body = json.dumps({"inputs": [golden["input"]]}).encode()
    argv = [
        python,
        "-m",
        "dockyard.cli.main",
        "serve",
        str(EXAMPLES / workload),
        "--port",
        str(port),
    ]
    started = time.time()
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    try:
        while True:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", body,
                                             {"content-type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
        wall = time.time() - started
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return wall, cpu
    finally:
        os.killpg(server.pid, 15)
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["digits", "embed"])
    parser.add_argument("--python", default="python3")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    runs = [once(args.python, args.workload, args.port) for _ in range(args.reps)]
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    cpu = f"CPU median {statistics.median(cpus):.2f} s (min {min(cpus):.2f})"
    print(f"{args.workload}: wall median {statistics.median(walls):.2f} s, {cpu}, {args.reps} runs")


if __name__ == "__main__":
    main()
