"""Router fixtures: tagged version projects, real version servers and a real router process."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.procs import HttpProcess, Server

MODEL = Path(__file__).parent / "models" / "tagged.py"


def version_project(
    root: Path, tag: str, router: dict[str, Any] | None = None, serving: str = ""
) -> Path:
    """A project serving the tagged fixture model under `tag`; with `router`, a [router] table."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODEL, root / "tagged.py")
    (root / "tag.txt").write_text(tag)
    lines = [
        "[project]",
        f'name = "tagged-{tag}"',
        "",
        "[model]",
        'entrypoint = "tagged:Tagged"',
        'name = "tagged"',
    ]
    if serving:
        lines += ["", "[serving]", serving]
    if router is not None:
        lines += ["", *_router_toml(router)]
    (root / "dockyard.toml").write_text("\n".join(lines) + "\n")
    return root


def _router_toml(router: dict[str, Any]) -> list[str]:
    versions = router.pop("versions")
    lines = ["[router]", *(f"{k} = {json.dumps(v)}" for k, v in router.items())]
    for version in versions:
        lines += [
            "",
            "[[router.versions]]",
            *(f"{k} = {json.dumps(v)}" for k, v in version.items()),
        ]
    return lines


class Proc(HttpProcess):
    """A router process serving HTTP on 127.0.0.1 with its output in a log file."""


class Stack:
    """Version servers plus a router in front, all real processes; see `stack` fixture."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.versions: dict[str, Server] = {}
        self.procs: list[Proc] = []

    def version(self, tag: str, serving: str = "") -> Server:
        """Start a version server for a tagged project in tmp/<tag> and wait until it is ready."""
        server = Server(version_project(self.tmp / tag, tag, serving=serving))
        self.versions[tag] = server
        server.wait("/readyz")
        return server

    def router(self, env: dict[str, str] | None = None, **router: Any) -> Proc:
        """Start `python -m dockyard.runtime.router` over the running versions.

        Waits until every ready version is in rotation, so splits are measured over all of them.
        """
        router.setdefault("enabled", True)
        router.setdefault("health_interval_s", 0.2)
        root = version_project(self.tmp / "front", "front", router)
        port = free_port()
        urls = {f"DOCKYARD_VERSION_URL_{t.upper()}": s.url for t, s in self.versions.items()}
        command = [sys.executable, "-m", "dockyard.runtime.router", str(root)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        proc = Proc(command, root / "router.log", port, {**urls, **(env or {})})
        self.procs.append(proc)
        proc.wait("/readyz")
        deadline = time.monotonic() + 10
        while set(httpx.get(proc.url + "/admin/weights").json()["up"]) != set(self.versions):
            assert time.monotonic() < deadline, "versions never all came up"
            time.sleep(0.05)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        for server in self.versions.values():
            server.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Real version servers and routers, all stopped after the test."""
    started = Stack(tmp_path)
    yield started
    started.stop()
