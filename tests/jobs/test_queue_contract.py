"""The `JobQueue` contract, run against every back end (memory, sqlite, redis)."""

from __future__ import annotations

import pytest

from dockyard.errors import JobError
from dockyard.runtime.queue import JobQueue, JobState, NewJob, WebhookState, put
from tests.jobs.conftest import FakeClock, QueueFactory


def test_put_then_get_round_trips_the_input(queue: JobQueue) -> None:
    job = put(queue, NewJob({"text": "héllo", "n": [1, 2.5, None]}, batch="b1"))
    stored = queue.get(job.id)
    assert stored is not None
    assert stored.input == {"text": "héllo", "n": [1, 2.5, None]}
    assert (stored.state, stored.batch, stored.attempts) == (JobState.QUEUED, "b1", 0)


def test_idempotency_key_returns_the_same_job(queue: JobQueue) -> None:
    first = put(queue, NewJob(1, idempotency_key="k"))
    again, other = queue.put_many([NewJob(2, idempotency_key="k"), NewJob(3)])
    assert again.id == first.id and again.input == 1
    assert other.id != first.id
    assert len(queue.list()) == 2


def test_claim_is_fifo_and_leases_each_job_once(queue: JobQueue) -> None:
    jobs = queue.put_many([NewJob(i) for i in range(5)])
    first = queue.claim(3, 30, "w1")
    second = queue.claim(3, 30, "w2")
    assert [c.job.input for c in first] == [0, 1, 2]
    assert [c.job.input for c in second] == [3, 4]
    assert queue.claim(3, 30, "w3") == []
    assert {c.id for c in first + second} == {j.id for j in jobs}
    assert all(c.job.state is JobState.RUNNING and c.job.attempts == 1 for c in first)


def test_ack_records_the_result_once(queue: JobQueue) -> None:
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 30, "w")
    assert queue.ack(claim, {"y": 1})
    assert not queue.ack(claim, {"y": 2})
    job = queue.get(claim.id)
    assert job is not None and job.state is JobState.DONE and job.result == {"y": 1}
    assert job.finished_at is not None


def test_expired_lease_is_reclaimed_and_the_stale_ack_loses(
    queue: JobQueue, clock: FakeClock
) -> None:
    put(queue, NewJob("x"))
    (stale,) = queue.claim(1, 10, "dead-worker")
    clock.advance(11)
    (fresh,) = queue.claim(1, 10, "w2")
    assert fresh.id == stale.id and fresh.token != stale.token and fresh.job.attempts == 2
    assert queue.ack(fresh, "from w2")
    assert not queue.ack(stale, "from the dead worker")
    assert not queue.nack(stale, "late", 1)
    job = queue.get(fresh.id)
    assert job is not None and job.result == "from w2" and job.state is JobState.DONE


def test_stale_ack_before_reclaim_still_counts(queue: JobQueue, clock: FakeClock) -> None:
    """A lease that ran out but was not yet taken over is still the only holder."""
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 10, "w")
    clock.advance(11)
    assert queue.ack(claim, "late but alone")
    assert queue.claim(1, 10, "w2") == []


def test_extend_keeps_a_lease_alive(queue: JobQueue, clock: FakeClock) -> None:
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 10, "w")
    clock.advance(8)
    assert queue.extend([claim], 10) == {claim.id}
    clock.advance(8)
    assert queue.claim(1, 10, "w2") == []


def test_nack_retries_after_the_delay(queue: JobQueue, clock: FakeClock) -> None:
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 10, "w")
    assert queue.nack(claim, "boom", delay_s=5)
    job = queue.get(claim.id)
    assert job is not None and job.state is JobState.QUEUED and job.error == "boom"
    assert queue.claim(1, 10, "w") == []
    clock.advance(5)
    (again,) = queue.claim(1, 10, "w")
    assert again.job.attempts == 2


def test_lease_expiring_on_the_last_attempt_dead_letters(queue: JobQueue, clock: FakeClock) -> None:
    put(queue, NewJob("oom", max_attempts=2))
    for _ in range(2):
        assert len(queue.claim(1, 10, "w")) == 1
        clock.advance(11)
    assert queue.claim(1, 10, "w") == []
    job = queue.list(state=JobState.DEAD)[0]
    assert job.attempts == 2 and job.error is not None and "lease expired" in job.error


def test_dead_letter_and_retry_dead(queue: JobQueue) -> None:
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 10, "w")
    assert queue.dead_letter(claim, "bad input")
    assert queue.stats().count(JobState.DEAD) == 1
    assert queue.retry_dead() == 1
    (again,) = queue.claim(1, 10, "w")
    assert again.job.attempts == 1 and again.job.error == "bad input"


def test_release_gives_the_job_back_without_spending_an_attempt(queue: JobQueue) -> None:
    put(queue, NewJob("x"))
    (claim,) = queue.claim(1, 10, "w")
    assert queue.release(claim)
    (again,) = queue.claim(1, 10, "w")
    assert again.job.attempts == 1


def test_cancel_queued_and_running_jobs(queue: JobQueue) -> None:
    a, b = queue.put_many([NewJob("a"), NewJob("b")])
    (running,) = queue.claim(1, 10, "w")
    assert queue.cancel(b.id).state is JobState.CANCELLED
    assert queue.cancel(running.id).state is JobState.CANCELLED
    assert not queue.ack(running, "too late")
    assert queue.extend([running], 10) == set()
    assert queue.claim(5, 10, "w") == []
    with pytest.raises(JobError, match="already cancelled"):
        queue.cancel(a.id)
    with pytest.raises(JobError, match="no job"):
        queue.cancel("nope")


def test_list_filters_and_pages(queue: JobQueue) -> None:
    jobs = queue.put_many([NewJob(i, batch="even" if i % 2 == 0 else "odd") for i in range(6)])
    queue.cancel(jobs[0].id)
    assert [j.input for j in queue.list(batch="even")] == [0, 2, 4]
    assert [j.input for j in queue.list(state=JobState.QUEUED, batch="even")] == [2, 4]
    page = queue.list(limit=4)
    assert [j.input for j in queue.list(after=page[-1].id)] == [4, 5]


def test_stats_count_states(queue: JobQueue, clock: FakeClock) -> None:
    queue.put_many([NewJob(i) for i in range(4)])
    clock.advance(1)
    (claim,) = queue.claim(1, 10, "w")
    queue.ack(claim, 0)
    stats = queue.stats()
    assert (stats.count(JobState.QUEUED), stats.count(JobState.DONE)) == (3, 1)
    assert stats.oldest_queued_at == pytest.approx(clock() - 1)


def test_purge_expired_keeps_recent_and_unfinished_jobs(queue: JobQueue, clock: FakeClock) -> None:
    old, _ = queue.put_many([NewJob("old", idempotency_key="old"), NewJob("waiting")])
    (claim,) = queue.claim(1, 10, "w")
    queue.ack(claim, "done")
    clock.advance(100)
    assert queue.purge_expired(retention_s=50) == 1
    assert queue.get(old.id) is None
    assert put(queue, NewJob("new", idempotency_key="old")).id != old.id


def test_webhook_due_on_completion_then_recorded(queue: JobQueue, clock: FakeClock) -> None:
    put(queue, NewJob("x", webhook="http://hook"))
    assert queue.claim_webhooks(5, 10) == []
    (claim,) = queue.claim(1, 10, "w")
    queue.ack(claim, "y")
    (due,) = queue.claim_webhooks(5, 10)
    assert due.webhook_state is WebhookState.PENDING and due.result == "y"
    assert queue.claim_webhooks(5, 10) == []  # leased to the first dispatcher
    queue.record_webhook(due.id, "HTTP 503", retry_in_s=2)
    clock.advance(2)
    (retry,) = queue.claim_webhooks(5, 10)
    queue.record_webhook(retry.id, None, None)
    job = queue.get(due.id)
    assert job is not None and job.webhook_state is WebhookState.DELIVERED
    assert job.webhook_attempts == 2 and job.webhook_error is None
    assert queue.stats().webhooks_pending == 0


def test_two_connections_share_one_queue(open_backend: QueueFactory) -> None:
    api, worker = open_backend(), open_backend()
    job = put(api, NewJob("x"))
    (claim,) = worker.claim(1, 10, "w")
    worker.ack(claim, "y")
    found = api.get(job.id)
    assert found is not None and found.result == "y"


def test_ack_many_records_held_claims_and_refuses_stale_ones(queue: JobQueue) -> None:
    queue.put_many([NewJob(i) for i in range(3)])
    a, b, c = queue.claim(3, 10, "w")
    queue.cancel(b.id)
    assert queue.ack_many([(a, "A"), (b, "B"), (c, "C")]) == [True, False, True]
    assert [queue.get(x.id).result for x in (a, b, c)] == ["A", None, "C"]  # type: ignore[union-attr]


def test_a_null_result_is_recorded_beside_the_others_of_its_batch(queue: JobQueue) -> None:
    """A model may answer None (an optional output, or NaN sent as null): that job is done with
    no result, and the rest of the batch is recorded with it (Redis once refused the batch)."""
    queue.put_many([NewJob(i) for i in range(3)])
    a, b, c = queue.claim(3, 10, "w")
    assert queue.ack_many([(a, "A"), (b, None), (c, [None, 1.5])]) == [True, True, True]
    found = [queue.get(x.id) for x in (a, b, c)]
    assert [j.state for j in found] == [JobState.DONE] * 3  # type: ignore[union-attr]
    assert [j.result for j in found] == ["A", None, [None, 1.5]]  # type: ignore[union-attr]
