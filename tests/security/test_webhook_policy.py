"""Webhooks may only point where the spec allows: never metadata or link-local addresses."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.runtime.auth.webhooks import WebhookPolicy
from dockyard.runtime.queue import MemoryQueue, NewJob, WebhookState, put
from dockyard.runtime.webhooks import WebhookDispatcher
from tests.jobs.test_webhooks import Receiver, finish_with_webhook
from tests.security.conftest import Keys, bearer

ANY_HOST, PRIVATE_OK = WebhookPolicy(), WebhookPolicy(private=True)
LISTED = WebhookPolicy(hosts=("hooks.example.com", "*.corp.example"))


@pytest.mark.parametrize(
    ("policy", "url", "refused"),
    [
        (ANY_HOST, "https://hooks.example.com/x", None),
        (ANY_HOST, "http://169.254.169.254/latest/meta-data/", "metadata"),
        (PRIVATE_OK, "http://169.254.169.254/", "metadata"),  # never, whatever the spec says
        (PRIVATE_OK, "http://[fd00:ec2::254]/", "metadata"),
        (PRIVATE_OK, "http://[::ffff:169.254.169.254]/", "metadata"),
        (PRIVATE_OK, "http://100.100.100.200/", "metadata"),
        (PRIVATE_OK, "http://169.254.1.1/", "link-local"),
        (PRIVATE_OK, "http://metadata.google.internal/", "metadata"),
        (ANY_HOST, "http://127.0.0.1:8080/hook", "private"),
        (ANY_HOST, "http://10.1.2.3/", "private"),
        (ANY_HOST, "http://[::1]/", "private"),
        (ANY_HOST, "http://localhost/", "webhook_private"),
        (ANY_HOST, "http://0.0.0.0/", "cannot be called"),
        (PRIVATE_OK, "http://127.0.0.1:8080/hook", None),
        (PRIVATE_OK, "http://192.168.1.5/", None),
        (LISTED, "https://hooks.example.com/a", None),
        (LISTED, "https://a.corp.example/a", None),
        (LISTED, "https://evil.example.com/a", "not in auth.webhook_hosts"),
        (LISTED, "https://corp.example.evil.com/a", "not in auth.webhook_hosts"),
    ],
)
def test_what_a_webhook_url_may_name(policy: WebhookPolicy, url: str, refused: str | None) -> None:
    found = policy.refusal(url)
    assert (found is None) if refused is None else (found is not None and refused in found), found


def test_the_jobs_api_refuses_a_metadata_webhook(api: TestClient, keys: Keys) -> None:
    client = api
    client.headers.update(bearer(keys.alice))
    bad = client.post("/jobs", json={"input": "x", "webhook": "http://169.254.169.254/"})
    fine = client.post("/jobs", json={"input": "x", "webhook": "https://hooks.example.com/"})
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "webhook_not_allowed"
    assert fine.status_code == 202


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver([]).up()
    yield made
    made.down()


def test_delivery_checks_what_the_name_resolves_to_now(receiver: Receiver) -> None:
    # the machine's own name passes the text check, but resolves to a private address
    own = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(own, None)}
    if not addresses or all(not _private(a) for a in addresses):
        pytest.skip(f"{own} resolves to no private address here")
    queue = MemoryQueue()
    url = f"http://{own}:{receiver.port}/hook"
    assert ANY_HOST.refusal(url) is None
    job_id = finish_with_webhook(queue, url)
    WebhookDispatcher(queue, None, policy=ANY_HOST, max_attempts=1).run_once()
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.FAILED
    assert (job.webhook_error or "").startswith("refused: webhook address")
    assert receiver.requests == []


def test_an_allowed_private_receiver_is_called(receiver: Receiver) -> None:
    queue = MemoryQueue()
    job_id = finish_with_webhook(queue, receiver.url)
    WebhookDispatcher(queue, None, policy=PRIVATE_OK).run_once()
    job = queue.get(job_id)
    assert job is not None and job.webhook_state is WebhookState.DELIVERED
    assert len(receiver.requests) == 1
    unused = put(queue, NewJob(1))
    assert unused.webhook is None


def _private(address: str) -> bool:
    import ipaddress

    return not ipaddress.ip_address(address.split("%")[0]).is_global
