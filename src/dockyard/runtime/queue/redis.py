"""Redis back end for workers on several hosts: sorted sets for times and leases, Lua scripts.

Layout under the `{namespace}` hash tag (one cluster slot): a hash per job; `ready` (score: when
it may run), `leases` (score: when the lease expires, so a dead consumer's jobs are found by a
range query), `hooks` (webhook due times), `final` (finish times, for retention), one lex-ordered
set per state, per batch and for all jobs, and `keys` (idempotency key -> id).

Why not Streams with a consumer group: XAUTOCLAIM would reclaim a dead consumer's entries, but
delayed retries, cancel, idempotency and compare-and-set results would still need the structures
above; with them, the stream adds a second source of truth. Every state change is one Lua
script, so it is atomic; results are only recorded while the caller's lease token matches.
Run Redis with `appendonly yes` so queued jobs survive a Redis restart.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Sequence
from typing import Any

from dockyard.errors import JobError
from dockyard.runtime.queue.base import (
    JSON,
    LEASE_LOST,
    Claim,
    Job,
    JobState,
    NewJob,
    QueueStats,
    encode_json,
    from_fields,
    new_token,
    to_fields,
)

Clock = Callable[[], float]

# Shared Lua helpers; every script starts with `local p = ARGV[1]` (the key prefix).
_PRELUDE = """
local p = ARGV[1]
local function jk(id) return p .. ':job:' .. id end
local function move(id, to)
  local from = redis.call('HGET', jk(id), 'state')
  redis.call('ZREM', p .. ':state:' .. from, id)
  redis.call('ZADD', p .. ':state:' .. to, 0, id)
  redis.call('HSET', jk(id), 'state', to)
end
local function unlease(id)
  redis.call('ZREM', p .. ':leases', id)
  redis.call('HDEL', jk(id), 'lease_token', 'lease_expires_at')
end
local function finish(id, state, now)
  move(id, state)
  unlease(id)
  redis.call('HSET', jk(id), 'finished_at', now, 'updated_at', now)
  redis.call('ZADD', p .. ':final', now, id)
  if state ~= 'cancelled' and redis.call('HEXISTS', jk(id), 'webhook') == 1 then
    redis.call('HSET', jk(id), 'webhook_state', 'pending', 'webhook_next_at', now)
    redis.call('ZADD', p .. ':hooks', now, id)
  end
end
local function requeue(id, run_at, now)
  move(id, 'queued')
  unlease(id)
  redis.call('HSET', jk(id), 'run_at', run_at, 'updated_at', now)
  redis.call('ZADD', p .. ':ready', run_at, id)
end
local function held(id, token)
  local s = redis.call('HMGET', jk(id), 'state', 'lease_token')
  return s[1] == 'running' and s[2] == token
end
"""

_PUT = """
local id, key, batch, run_at, owner = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if key ~= '' then
  local existing = redis.call('HGET', p .. ':keys', key)
  if existing then return existing end
  redis.call('HSET', p .. ':keys', key, id)
end
redis.call('HSET', jk(id), unpack(ARGV, 7))
redis.call('ZADD', p .. ':ready', run_at, id)
redis.call('ZADD', p .. ':state:queued', 0, id)
redis.call('ZADD', p .. ':all', 0, id)
if batch ~= '' then redis.call('ZADD', p .. ':batch:' .. batch, 0, id) end
if owner ~= '' then redis.call('ZADD', p .. ':owner:' .. owner, 0, id) end
return id
"""

_CLAIM = """
local now, lease, n = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local worker, lost = ARGV[5], ARGV[6]
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. ':leases', '-inf', now)) do
  local a = redis.call('HMGET', jk(id), 'attempts', 'max_attempts')
  local err = (string.gsub(lost, '{attempts}', a[1]))
  redis.call('HSET', jk(id), 'error', err)
  if tonumber(a[1]) >= tonumber(a[2]) then finish(id, 'dead', now) else requeue(id, now, now) end
end
local out = {}
for i, id in ipairs(redis.call('ZRANGEBYSCORE', p .. ':ready', '-inf', now, 'LIMIT', 0, n)) do
  redis.call('ZREM', p .. ':ready', id)
  move(id, 'running')
  redis.call('HINCRBY', jk(id), 'attempts', 1)
  redis.call('HSET', jk(id), 'lease_token', ARGV[6 + i], 'lease_expires_at', now + lease,
             'worker', worker, 'started_at', now, 'updated_at', now)
  redis.call('ZADD', p .. ':leases', now + lease, id)
  out[#out + 1] = redis.call('HGETALL', jk(id))
end
return out
"""

_ACK = """
local id, token, now, result = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not held(id, token) then return 0 end
if result == '' then redis.call('HDEL', jk(id), 'result')  -- no result (None), not JSON null
else redis.call('HSET', jk(id), 'result', result) end
redis.call('HDEL', jk(id), 'error')
finish(id, 'done', now)
return 1
"""

_DEAD = """
local id, token, now, err = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not held(id, token) then return 0 end
redis.call('HSET', jk(id), 'error', err)
finish(id, 'dead', now)
return 1
"""

_NACK = """
local id, token, now, delay, err = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
if not held(id, token) then return 0 end
redis.call('HSET', jk(id), 'error', err)
requeue(id, now + delay, now)
return 1
"""

_RELEASE = """
local id, token, now = ARGV[2], ARGV[3], ARGV[4]
if not held(id, token) then return 0 end
redis.call('HINCRBY', jk(id), 'attempts', -1)
requeue(id, redis.call('HGET', jk(id), 'run_at'), now)
return 1
"""

_EXTEND = """
local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local kept = {}
for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if held(id, token) then
    redis.call('HSET', jk(id), 'lease_expires_at', now + lease, 'updated_at', now)
    redis.call('ZADD', p .. ':leases', now + lease, id)
    kept[#kept + 1] = id
  end
end
return kept
"""

_CANCEL = """
local id, now = ARGV[2], ARGV[3]
local state = redis.call('HGET', jk(id), 'state')
if not state then return 'missing' end
if state == 'done' or state == 'dead' or state == 'cancelled' then return state end
redis.call('ZREM', p .. ':ready', id)
finish(id, 'cancelled', now)
return 'ok'
"""

_RETRY_DEAD = """
local now = ARGV[2]
local ids = {}
if #ARGV > 2 then for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
else ids = redis.call('ZRANGE', p .. ':state:dead', 0, -1) end
local n = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', jk(id), 'state') == 'dead' then
    redis.call('ZREM', p .. ':final', id)
    redis.call('ZREM', p .. ':hooks', id)
    redis.call('HDEL', jk(id), 'finished_at', 'webhook_state', 'webhook_next_at', 'webhook_error')
    redis.call('HSET', jk(id), 'attempts', 0, 'webhook_attempts', 0)
    requeue(id, now, now)
    n = n + 1
  end
end
return n
"""

_PURGE = """
local cutoff, limit = ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', p .. ':final', '-inf', '(' .. cutoff, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', jk(id), 'state', 'batch', 'idempotency_key', 'owner')
  if f[1] then redis.call('ZREM', p .. ':state:' .. f[1], id) end
  if f[2] then redis.call('ZREM', p .. ':batch:' .. f[2], id) end
  if f[3] then redis.call('HDEL', p .. ':keys', f[3]) end
  if f[4] then redis.call('ZREM', p .. ':owner:' .. f[4], id) end
  redis.call('ZREM', p .. ':final', id)
  redis.call('ZREM', p .. ':hooks', id)
  redis.call('ZREM', p .. ':all', id)
  redis.call('DEL', jk(id))
end
return #ids
"""

_CLAIM_HOOKS = """
local now, lease, n = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. ':hooks', '-inf', now, 'LIMIT', 0, n)) do
  redis.call('ZADD', p .. ':hooks', now + lease, id)
  redis.call('HSET', jk(id), 'webhook_next_at', now + lease)
  out[#out + 1] = redis.call('HGETALL', jk(id))
end
return out
"""

_RECORD_HOOK = """
local id, state, err, next_at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', jk(id)) == 0 then return 0 end
redis.call('HINCRBY', jk(id), 'webhook_attempts', 1)
redis.call('HSET', jk(id), 'webhook_state', state)
if err ~= '' then redis.call('HSET', jk(id), 'webhook_error', err)
else redis.call('HDEL', jk(id), 'webhook_error') end
if next_at ~= '' then
  redis.call('HSET', jk(id), 'webhook_next_at', next_at)
  redis.call('ZADD', p .. ':hooks', next_at, id)
else
  redis.call('HDEL', jk(id), 'webhook_next_at')
  redis.call('ZREM', p .. ':hooks', id)
end
return 1
"""

_SCRIPTS = {
    "put": _PUT, "claim": _CLAIM, "ack": _ACK, "dead": _DEAD, "nack": _NACK,
    "release": _RELEASE, "extend": _EXTEND, "cancel": _CANCEL, "retry_dead": _RETRY_DEAD,
    "purge": _PURGE, "claim_hooks": _CLAIM_HOOKS, "record_hook": _RECORD_HOOK,
}  # fmt: skip
PURGE_CHUNK = 500


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    """HGETALL as Lua returns it (a flat list) -> a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


class RedisQueue:
    """A `JobQueue` in Redis; safe for any number of API and worker processes on any hosts."""

    def __init__(
        self,
        url: str,
        namespace: str = "dockyard",
        clock: Clock = time.time,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        import redis  # loaded on use: only Redis-backed deployments need the package

        self.clock = clock
        self.prefix = f"{{{namespace}}}"
        # Any: redis-py's types cannot express that decode_responses=True makes replies str.
        self._redis: Any = redis.Redis.from_url(
            url, decode_responses=True, username=username, password=password
        )
        self._scripts: dict[str, Any] = {
            name: self._redis.register_script(_PRELUDE + body) for name, body in _SCRIPTS.items()
        }

    def _run(self, name: str, *args: Any) -> Any:
        return self._scripts[name](args=[self.prefix, *args])

    def put_many(self, jobs: Sequence[NewJob]) -> builtins.list[Job]:
        now = self.clock()
        pipe = self._redis.pipeline(transaction=False)
        made = []
        for new in jobs:
            job = new.to_job(now)
            fields = [x for k, v in to_fields(job).items() if v is not None for x in (k, v)]
            self._scripts["put"](
                args=[
                    self.prefix,
                    job.id,
                    new.idempotency_key or "",
                    new.batch or "",
                    now,
                    new.owner or "",
                    *fields,
                ],
                client=pipe,
            )
            made.append(job)
        ids = pipe.execute()
        return [
            job if job.id == got else self._must_get(got)
            for job, got in zip(made, ids, strict=True)
        ]

    def claim(self, n: int, lease_s: float, worker: str) -> builtins.list[Claim]:
        tokens = [new_token() for _ in range(n)]
        rows = self._run("claim", self.clock(), lease_s, n, worker, LEASE_LOST, *tokens)
        jobs = [from_fields(_pairs(row)) for row in rows]
        return [Claim(job, job.lease_token or "") for job in jobs]

    def ack(self, claim: Claim, result: JSON) -> bool:
        return self.ack_many([(claim, result)])[0]

    def ack_many(self, done: Sequence[tuple[Claim, JSON]]) -> builtins.list[bool]:
        pipe, now = self._redis.pipeline(transaction=False), self.clock()
        for claim, result in done:
            # '' for no result: Redis arguments cannot be None, and JSON text is never empty
            args = [self.prefix, claim.id, claim.token, now, encode_json(result) or ""]
            self._scripts["ack"](args=args, client=pipe)
        return [bool(ok) for ok in pipe.execute()]

    def nack(self, claim: Claim, error: str, delay_s: float) -> bool:
        return bool(self._run("nack", claim.id, claim.token, self.clock(), delay_s, error))

    def dead_letter(self, claim: Claim, error: str) -> bool:
        return bool(self._run("dead", claim.id, claim.token, self.clock(), error))

    def release(self, claim: Claim) -> bool:
        return bool(self._run("release", claim.id, claim.token, self.clock()))

    def extend(self, claims: Sequence[Claim], lease_s: float) -> set[str]:
        pairs = [x for c in claims for x in (c.id, c.token)]
        return set(self._run("extend", self.clock(), lease_s, *pairs))

    def cancel(self, job_id: str) -> Job:
        outcome = self._run("cancel", job_id, self.clock())
        if outcome == "missing":
            raise JobError(f"no job {job_id!r}")
        if outcome != "ok":
            raise JobError(f"job {job_id} is already {outcome}")
        return self._must_get(job_id)

    def retry_dead(self, job_ids: Sequence[str] | None = None) -> int:
        if job_ids is not None and not job_ids:
            return 0
        return int(self._run("retry_dead", self.clock(), *(job_ids or ())))

    def get(self, job_id: str) -> Job | None:
        found = self._redis.hgetall(f"{self.prefix}:job:{job_id}")
        return from_fields(found) if found else None

    def _must_get(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise JobError(f"no job {job_id!r}")
        return job

    def list(
        self, state: JobState | None = None, batch: str | None = None, limit: int = 100,
        after: str | None = None, owner: str | None = None,
    ) -> builtins.list[Job]:  # fmt: skip
        source = (
            f"owner:{owner}" if owner is not None else f"batch:{batch}" if batch
            else f"state:{state.value}" if state else "all"
        )  # fmt: skip
        found: builtins.list[Job] = []
        while len(found) < limit:
            ids = self._redis.zrangebylex(
                f"{self.prefix}:{source}", f"({after}" if after else "-", "+", start=0, num=limit
            )
            if not ids:
                break
            jobs = [j for j in map(self.get, ids) if j is not None]
            found += [
                j for j in jobs
                if (state is None or j.state is state) and (batch is None or j.batch == batch)
            ]  # fmt: skip
            after = ids[-1]
        return found[:limit]

    def stats(self) -> QueueStats:
        pipe = self._redis.pipeline(transaction=False)
        for state in JobState:
            pipe.zcard(f"{self.prefix}:state:{state.value}")
        pipe.zrange(f"{self.prefix}:state:queued", 0, 0)
        pipe.zcard(f"{self.prefix}:hooks")
        *counts, oldest, pending = pipe.execute()
        first = self.get(oldest[0]) if oldest else None
        return QueueStats(
            dict(zip(JobState, counts, strict=True)), first.created_at if first else None, pending
        )

    def purge_expired(self, retention_s: float) -> int:
        cutoff, total = self.clock() - retention_s, 0
        while (removed := int(self._run("purge", cutoff, PURGE_CHUNK))) > 0:
            total += removed
        return total

    def claim_webhooks(self, n: int, lease_s: float) -> builtins.list[Job]:
        rows = self._run("claim_hooks", self.clock(), lease_s, n)
        return [from_fields(_pairs(row)) for row in rows]

    def record_webhook(self, job_id: str, error: str | None, retry_in_s: float | None) -> None:
        retry = error is not None and retry_in_s is not None
        state = "delivered" if error is None else "pending" if retry else "failed"
        next_at = self.clock() + (retry_in_s or 0) if retry else ""
        self._run("record_hook", job_id, state, error or "", next_at)

    def close(self) -> None:
        self._redis.close()
