"""One version that is a service with replicas (a Swarm or Kubernetes service name): when the
replica a pooled connection reaches is draining, the router asks again over a new connection.

`Address` stands in for the service's DNS name: each new connection goes to the replicas in
service at connect time, while an open connection stays with the replica it reached, as a
pooled keep-alive connection does after the orchestrator took that replica out of DNS.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.router.conftest import Proc, version_project
from tests.router.test_shadow_health import metric
from tests.support.ports import free_port
from tests.support.procs import Server

pytestmark = pytest.mark.slow  # real server processes


class Address:
    """A TCP port whose new connections go to `members[0]` (changed by the test)."""

    def __init__(self, member: int) -> None:
        self.members = [member]
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.members[0]))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, dest: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            dest.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, dest):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _post(client: httpx.Client, url: str, text: str) -> tuple[int, str]:
    response = client.post(f"{url}/predict", json={"inputs": [text]})
    version = response.json()["outputs"][0]["version"] if response.status_code == 200 else ""
    return response.status_code, version


def test_a_draining_replica_behind_the_only_version_costs_the_client_nothing(
    tmp_path: Path,
) -> None:
    old = Server(version_project(tmp_path / "old", "old"))
    new = Server(version_project(tmp_path / "new", "new"))
    router = None
    try:
        old.wait("/readyz"), new.wait("/readyz")
        address = Address(old.port)
        config = {"versions": [{"name": "svc", "url": f"http://127.0.0.1:{address.port}",
                                "weight": 1}], "retry": True, "health_interval_s": 0.2}  # fmt: skip
        front = version_project(tmp_path / "front", "front", {"enabled": True, **config})
        port = free_port()
        command = [sys.executable, "-m", "dockyard.runtime.router", str(front),
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        router = Proc(command, front / "router.log", port)
        router.wait("/readyz")
        with httpx.Client(timeout=10) as client:
            assert _post(client, router.url, "warm") == (200, "old")  # a pooled connection to old
            # The orchestrator takes `old` out of the address, then stops it; a slow request
            # in flight keeps it draining (new work: 503) for a few seconds.
            address.members[0] = new.port
            (tmp_path / "old" / "delay.txt").write_text("3")
            slow = threading.Thread(
                target=httpx.post,
                args=(f"{old.url}/predict",),
                kwargs={"json": {"inputs": ["slow"]}, "timeout": 10},
            )
            slow.start()
            time.sleep(0.5)
            old.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            answers = [_post(client, router.url, f"r{i}") for i in range(20)]
            slow.join()
        assert answers == [(200, "new")] * 20
        assert (
            metric(router.url, "dockyard_router_retries_total", failed="svc", answered="svc") >= 1
        )
    finally:
        if router is not None:
            router.stop()
        old.stop(), new.stop()
