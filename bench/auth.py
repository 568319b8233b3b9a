"""Cost of the auth layer on the hot path: /predict req/s on a project, keys off vs on.

    python bench/auth.py [examples/digits] [--requests 3000] [--concurrency 16] [--rounds 3]

Two real servers (one with DOCKYARD_AUTH_KEYS_FILE) take the same async httpx load in
alternating rounds; the best round of each is compared. Ratios within one run are what mean
anything on a shared machine. Results: bench/auth.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(root: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "dockyard.runtime", "serve", str(root), "--host",
               "127.0.0.1", "--port", str(port), "--no-access-log"]  # fmt: skip
    log = open(tempfile.mktemp(prefix="bench-auth-"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{root} did not become ready")


async def load(url: str, body: bytes, headers: dict[str, str], n: int, concurrency: int) -> float:
    """Requests per second for `n` POST /predict with `concurrency` in flight."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        todo = iter(range(n))

        async def lane() -> None:
            for _ in todo:
                response = await client.post("/predict", content=body, headers=headers)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


def per_request_us(keys: Path, key: str, n: int = 100_000) -> dict[str, float]:
    """The layer alone, in process: microseconds per /predict through Guard, keys off vs on."""
    from prometheus_client import CollectorRegistry

    from dockyard.runtime.auth import AuthConfig, Guard, rules

    async def app(scope: object, receive: object, send: object) -> None:
        return None

    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {key}".encode())]
    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": headers}
    out = {}
    for name, config in (("bare", None), ("open", AuthConfig(None)), ("keys", AuthConfig(keys))):
        called = (
            app if config is None
            else Guard(app, config, rules.MODEL_SERVICE, CollectorRegistry())
        )  # fmt: skip

        async def run(call: object = called) -> float:
            started = time.perf_counter()
            for _ in range(n):
                await call(dict(scope), None, None)  # type: ignore[operator]
            return (time.perf_counter() - started) / n * 1e6

        out[name] = round(asyncio.run(run()), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default="examples/digits")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.root).resolve()
    first = json.loads((root / "golden.jsonl").read_text().splitlines()[0])["input"]
    body = json.dumps({"inputs": [first]}).encode()
    key = "dk_" + secrets.token_urlsafe(32)
    keys = Path(tempfile.mkdtemp()) / "keys"
    keys.write_text(f"{key} bench predict\n")
    json_headers = {"content-type": "application/json"}
    servers = {
        "open": (*start(root, {}), json_headers),
        "keys": (*start(root, {"DOCKYARD_AUTH_KEYS_FILE": str(keys)}),
                 {**json_headers, "authorization": f"Bearer {key}"}),
    }  # fmt: skip
    best = dict.fromkeys(servers, 0.0)
    try:
        for _, url, headers in servers.values():  # warm up
            asyncio.run(load(url, body, headers, 200, args.concurrency))
        for _ in range(args.rounds):
            for name, (_, url, headers) in servers.items():
                rate = asyncio.run(load(url, body, headers, args.requests, args.concurrency))
                best[name] = max(best[name], rate)
                print(f"{name}: {rate:.0f} req/s")
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait()
    ratio = best["keys"] / best["open"]
    print(json.dumps({"open_rps": round(best["open"]), "keys_rps": round(best["keys"]),
                      "ratio": round(ratio, 3)}))  # fmt: skip
    print("us per request through the layer:", json.dumps(per_request_us(keys, key)))


if __name__ == "__main__":
    main()
