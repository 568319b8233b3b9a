"""Webhook signatures cover a timestamp (a replayed delivery is refused); unsigned is loud."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dockyard.errors import DockyardError
from dockyard.runtime.webhooks import sign, verify, webhook_secret

SECRET = b"s3cret"
BODY = b'{"event": "job.done"}'
NOW = 1_700_000_000


def test_the_timestamp_is_signed() -> None:
    signature = sign(SECRET, BODY, NOW)
    assert verify(SECRET, BODY, signature, str(NOW), now=NOW)
    # Another timestamp with the same signature: an attacker cannot refresh a capture.
    assert not verify(SECRET, BODY, signature, str(NOW + 60), now=NOW + 60)


def test_a_replay_outside_the_window_is_refused() -> None:
    signature = sign(SECRET, BODY, NOW)
    assert verify(SECRET, BODY, signature, str(NOW), now=NOW + 299)
    assert not verify(SECRET, BODY, signature, str(NOW), now=NOW + 301)
    assert not verify(SECRET, BODY, signature, str(NOW), now=NOW + 30, window_s=10)
    assert not verify(SECRET, BODY, signature, "not-a-time", now=NOW)


def test_no_secret_warns_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="dockyard.webhooks"):
        assert webhook_secret(None, {}) is None
    assert "webhooks are sent unsigned" in caplog.text


def test_a_named_secret_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DockyardError, match="DOCKYARD_SECRET_HOOK_KEY"):
        webhook_secret("hook-key", {}, tmp_path)
    assert webhook_secret("hook-key", {"DOCKYARD_SECRET_HOOK_KEY": "k"}, tmp_path) == b"k"
