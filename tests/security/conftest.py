"""Security fixtures: a keys file with one key per scope, and real services that read it."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import Process, Server, free_port
from tests.pipeline.conftest import make_pipeline
from tests.support.asgi import in_process

SCOPES = ("predict", "jobs", "admin", "metrics")


@dataclass(frozen=True)
class Keys:
    """Real keys written to `path`: one per scope (`by_scope`), plus two tenants and a stranger."""

    path: Path
    by_scope: dict[str, str]
    alice: str
    bob: str

    def without(self, scope: str) -> str:
        """A valid key lacking `scope` (and admin, which holds every scope)."""
        return self.by_scope["predict" if scope != "predict" else "jobs"]

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKYARD_AUTH_KEYS_FILE": str(self.path)}


def new_key() -> str:
    return "dk_" + secrets.token_urlsafe(24)


def write_keys(path: Path, lines: list[tuple[str, str, str]]) -> None:
    """Replace the keys file in one rename, as a secret update does."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{k} {i} {s}\n" for k, i, s in lines))
    tmp.replace(path)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    by_scope = {scope: new_key() for scope in SCOPES}
    alice, bob = new_key(), new_key()
    path = tmp_path / "api_keys"
    lines = [(k, f"{s}-key", s) for s, k in by_scope.items()]
    lines += [(alice, "alice", "predict,jobs"), (bob, "bob", "predict,jobs")]
    write_keys(path, lines)
    return Keys(path, by_scope, alice, bob)


def full_project(root: Path) -> Path:
    """One project whose service carries every route group: model, jobs and the local pipeline."""
    make_pipeline(root, [("length", {})])
    with (root / "dockyard.toml").open("a") as toml:
        toml.write(f'\n[worker]\nenabled = true\nsqlite_path = "{root}/jobs.sqlite3"\n')
    return root


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Worker(Process):
    """`python -m dockyard.runtime worker ROOT` with its metrics port on a free port."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "dockyard.runtime", "worker", str(root)]
        env = {"DOCKYARD_METRICS_PORT": str(self.port), **env}
        super().__init__(command, root / "worker.log", env)

    def wait_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive, self.log.read_text()
            try:
                httpx.get(self.url + "/metrics", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"metrics port never answered:\n{self.log.read_text()}")


@pytest.fixture
def api(tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The full project with the keys on, in-process (the app `service` runs in a process)."""
    for name, value in keys.env.items():
        monkeypatch.setenv(name, value)
    with in_process(full_project(tmp_path / "project")) as client:
        yield client


@pytest.fixture
def service(tmp_path: Path, keys: Keys) -> Iterator[Server]:
    """The full project served with the keys on."""
    server = Server(full_project(tmp_path / "project"), env=keys.env)
    server.wait("/readyz", timeout=60)
    yield server
    server.stop()
