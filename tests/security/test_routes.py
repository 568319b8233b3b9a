"""Every route of every service, read from the app's own route table, against four callers.

No key and a wrong key get 401, a key without the route's scope 403, a key with it neither;
only the probes answer without a key. Where the service has a status page, the session cookie an
admin key buys at /status/login is tried too: it opens GET routes needing `metrics`, no other.
A route added without a decision in `dockyard.runtime.auth.rules` fails
`test_every_route_has_a_decision`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Route

from dockyard.runtime.app import create_app
from dockyard.runtime.auth import ANY, Rules, rules
from dockyard.runtime.pipeline.front import create_front
from dockyard.runtime.router.app import RouterApp
from dockyard.runtime.router.config import router_config
from dockyard.spec import load_spec
from tests.conftest import Server, free_port
from tests.pipeline.conftest import Front
from tests.pipeline.conftest import Proc as PipelineProc
from tests.router.conftest import Proc, version_project
from tests.security.conftest import Keys, Worker, bearer, full_project

Endpoint = tuple[str, str, str]  # method, template, concrete path
# prometheus-client answers every path of a metrics port, so made-up paths are tried too
METRICS_TABLE = [("GET", p, p) for p in ("/metrics", "/", "/other", "/x/y")]


def endpoints(routes: list[BaseRoute]) -> Iterator[Endpoint]:
    for route in routes:
        assert isinstance(route, Route), f"{route!r}: only plain routes are expected"
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            yield method, route.path, _concrete(route.path)


def _concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: "x/y" if m.group(2) else "x", template)


def model_routes(root: Path) -> list[BaseRoute]:
    return list(create_app(load_spec(root), root, environ=os.environ).routes.routes)


def front_routes(root: Path) -> list[BaseRoute]:
    return list(create_front(load_spec(root), root, {}).routes)


def router_routes(root: Path, url: str) -> list[BaseRoute]:
    config = router_config(load_spec(root), root, {}, urls={"stable": url})
    return list(RouterApp(config).routes.routes)


def check_all(
    url: str, table: list[Endpoint], decide: Rules, keys: Keys, session: bool = True
) -> list[str]:
    """Try each endpoint with no key, a wrong key, a key without the scope and a good key
    (and, with `session`, the status page's cookie alone)."""
    wrong = bearer("dk_" + "0" * 32)
    failures: list[str] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        cookie = _session_cookie(client, keys) if session else None
        for method, template, path in table:
            needed = decide.scope_for(path)
            tries = _tries(needed, keys, wrong)
            if cookie is not None and needed is not None:
                tries.append(_cookie_try(method, needed, cookie))
            for who, headers, expected in tries:
                got = client.request(method, path, headers=headers).status_code
                if not expected(got):
                    failures.append(f"{method} {template} ({who}): {got}")
    return failures


def _tries(
    needed: str | None, keys: Keys, wrong: dict[str, str]
) -> list[tuple[str, dict[str, str], object]]:
    if needed is None:  # a probe: open to all
        return [("no key", {}, lambda s: s not in (401, 403))]
    refused = [
        ("no key", {}, lambda s: s == 401),
        ("wrong key", wrong, lambda s: s == 401),
    ]
    good_key = keys.by_scope["predict" if needed == ANY else needed]
    allowed = [("good key", bearer(good_key), lambda s: s not in (401, 403) and s < 500)]
    if needed != ANY:
        refused.append(("no scope", bearer(keys.without(needed)), lambda s: s == 403))
    return refused + allowed


def _session_cookie(client: httpx.Client, keys: Keys) -> dict[str, str]:
    signed_in = client.post("/status/login", data={"key": keys.by_scope["admin"]})
    assert signed_in.status_code == 303, signed_in.text
    client.cookies.clear()  # the other callers send no cookie
    return {"Cookie": signed_in.headers["set-cookie"].split(";", 1)[0]}


def _cookie_try(
    method: str, needed: str, cookie: dict[str, str]
) -> tuple[str, dict[str, str], object]:
    if method == "GET" and needed in ("metrics", ANY):  # what the status page and /docs read
        return ("session cookie", cookie, lambda s: s not in (401, 403) and s < 500)
    return ("session cookie", cookie, lambda s: s == 401)


def _assert_checked(table: list[Endpoint], failures: list[str]) -> None:
    assert len(table) > 3, table
    assert not failures, "\n".join(failures)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return full_project(tmp_path / "project")


def test_every_route_has_a_decision(project: Path, tmp_path: Path) -> None:
    router_root = version_project(tmp_path / "front", "front", _router_table())
    tables = [
        (model_routes(project), rules.MODEL_SERVICE),
        (front_routes(project), rules.PIPELINE_FRONT),
        (router_routes(router_root, "http://127.0.0.1:1"), rules.ROUTER),
    ]
    undecided = [
        f"{method} {template}"
        for routes, decide in tables
        for method, template, _ in endpoints(routes)
        if not decide.decided(template)
    ]
    assert not undecided, f"routes with no auth decision in auth/rules.py: {undecided}"


@pytest.mark.slow  # real server processes
def test_model_service_routes(project: Path, keys: Keys) -> None:
    table = list(endpoints(model_routes(project)))
    server = Server(project, env=keys.env)
    try:
        server.wait("/readyz", timeout=60)
        failures = check_all(server.url, table, rules.MODEL_SERVICE, keys)
    finally:
        server.stop()
    _assert_checked(table, failures)


@pytest.mark.slow  # real server processes
def test_pipeline_front_routes(project: Path, keys: Keys) -> None:
    table = list(endpoints(front_routes(project)))
    front = Front(project, env=keys.env)
    try:
        front.wait_http(front.url + "/readyz", 60)
        failures = check_all(front.url, table, rules.PIPELINE_FRONT, keys)
    finally:
        front.stop()
    _assert_checked(table, failures)


def _router_table() -> dict[str, object]:
    return {"enabled": True, "health_interval_s": 0.2,
            "versions": [{"name": "stable", "weight": 1, "url": "http://127.0.0.1:1"}]}  # fmt: skip


@pytest.mark.slow  # real server processes
def test_router_routes(tmp_path: Path, keys: Keys) -> None:
    version = Server(version_project(tmp_path / "stable", "stable"))
    root = version_project(tmp_path / "front", "front", _router_table())
    port = free_port()
    command = [sys.executable, "-m", "dockyard.runtime.router", str(root),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    env = {"DOCKYARD_VERSION_URL_STABLE": version.url, **keys.env}
    router = Proc(command, tmp_path / "router.log", port, env)
    try:
        version.wait("/readyz", timeout=60)
        router.wait("/readyz", timeout=60)
        table = list(endpoints(router_routes(root, version.url)))
        failures = check_all(router.url, table, rules.ROUTER, keys)
    finally:
        router.stop()
        version.stop()
    _assert_checked(table, failures)


@pytest.mark.slow  # real server processes
def test_pipeline_stage_metrics_port(project: Path, keys: Keys) -> None:
    port = free_port()
    env = {"DOCKYARD_METRICS_PORT": str(port), **keys.env}
    stage = PipelineProc(project / "stage.log", "stage", "length", str(project), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        stage.wait_http(url + "/healthz", 60, status=401)  # the port is up, and closed
        failures = check_all(url, METRICS_TABLE, rules.METRICS_PORT, keys, session=False)
    finally:
        stage.stop()
    _assert_checked(METRICS_TABLE, failures)


@pytest.mark.slow  # real server processes
def test_worker_metrics_port(project: Path, keys: Keys) -> None:
    worker = Worker(project, keys.env)
    try:
        worker.wait_up()
        failures = check_all(worker.url, METRICS_TABLE, rules.METRICS_PORT, keys, session=False)
    finally:
        worker.stop()
    _assert_checked(METRICS_TABLE, failures)
