"""Alert state in Redis: the evaluator lock, atomic transitions, history, the delivery outbox.

State lives in Redis only, so a restarted worker carries on where the last one stopped. Two
guards keep a notification single even with several workers:

* one evaluator at a time — a lock ``<prefix>:alert:lock`` (SET NX PX, renewed every tick by its
  owner; a dead owner's lock expires after a few ticks);
* idempotent transitions — :meth:`AlertStore.apply` is one Lua script that compares the stored
  state with the one the evaluator read (compare-and-set), then writes the new state, the firing
  entry, the history entry and the outbox messages together. A second evaluator that read the
  same old state finds the transition already made and writes nothing.

The outbox is a sorted set per tenant (member = message id, score = when it is due) with the
bodies in a hash. :meth:`AlertStore.claim` takes one due message atomically and pushes its due
time out by a lease longer than a send attempt, so two workers never send the same message;
a worker that dies mid-send leaves the message to be retried when the lease ends.
Key names: docs/alerts.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import redis as redis_lib

from stream.keys import Keys

#: Delivery failures kept in the global list (newest first).
FAILURES_MAX = 500
#: Sent messages kept per tenant (newest first), for the dashboard and tests.
DELIVERIES_MAX = 1000

_LOCK = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: state, firing, history, outbox, bodies
# ARGV: id, expected raw state ('' = none), new raw state ('' = delete), firing op (set|del|keep),
#       firing json, history json ('' = none), history max, history ttl s, then (msg id, due, body)*
_APPLY = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
if ARGV[4] == 'set' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
elseif ARGV[4] == 'del' then redis.call('HDEL', KEYS[2], ARGV[1]) end
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[6])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
end
for i = 9, #ARGV, 3 do
  if redis.call('ZADD', KEYS[4], 'NX', ARGV[i + 1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 2])
  end
end
return 1
"""
# KEYS: outbox, bodies, attempts; ARGV: now ms, lease ms
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
local id = ids[1]
local body = redis.call('HGET', KEYS[2], id)
if not body then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  return false
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
local n = redis.call('HINCRBY', KEYS[3], id, 1)
return {id, body, n}
"""


@dataclass(frozen=True)
class AlertKeys:
    """The alert keys of one tenant (all share the tenant's hash tag) and the global ones."""

    keys: Keys
    tenant: str

    @property
    def base(self) -> str:
        return self.keys.alert_prefix(self.tenant)

    @property
    def state(self) -> str:
        """Hash alert id -> JSON state (pending/firing, since, value, version)."""
        return f"{self.base}:state"

    @property
    def firing(self) -> str:
        """Hash alert id -> JSON of a firing alert (the dashboard's "firing now")."""
        return f"{self.base}:firing"

    @property
    def history(self) -> str:
        """List of state changes as JSON, newest first."""
        return f"{self.base}:history"

    @property
    def outbox(self) -> str:
        """Sorted set message id -> due time (epoch ms)."""
        return f"{self.base}:outbox"

    @property
    def bodies(self) -> str:
        return f"{self.base}:outbox:body"

    @property
    def attempts(self) -> str:
        return f"{self.base}:outbox:attempts"

    @property
    def deliveries(self) -> str:
        """List of sent messages as JSON, newest first."""
        return f"{self.base}:deliveries"


def lock_key(keys: Keys) -> str:
    return f"{keys.prefix}:alert:lock"


def failures_key(keys: Keys) -> str:
    return f"{keys.prefix}:alert:delivery_failures"


def rules_status_key(keys: Keys) -> str:
    return f"{keys.prefix}:alert:rules"


@dataclass(frozen=True)
class Outgoing:
    """A message for one channel, put into the outbox by a transition."""

    msg_id: str
    due_ms: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    tenant: str
    msg_id: str
    body: dict[str, Any]
    attempt: int


class AlertStore:
    """Redis operations of the alert part (sync client: runs in worker threads, not the loop)."""

    def __init__(self, client: redis_lib.Redis, keys: Keys, history_max: int, history_ttl_s: int) -> None:
        self.r = client
        self.keys = keys
        self.history_max = history_max
        self.history_ttl_s = history_ttl_s
        self._lock = client.register_script(_LOCK)
        self._unlock = client.register_script(_UNLOCK)
        self._apply = client.register_script(_APPLY)
        self._claim = client.register_script(_CLAIM)

    def tenant(self, tenant: str) -> AlertKeys:
        return AlertKeys(self.keys, tenant)

    # -- the single evaluator ---------------------------------------------------------------------
    def hold_lock(self, owner: str, ttl_ms: int) -> bool:
        """Take or renew the evaluator lock; False while another evaluator holds it."""
        return bool(self._lock(keys=[lock_key(self.keys)], args=[owner, ttl_ms]))

    def release_lock(self, owner: str) -> None:
        self._unlock(keys=[lock_key(self.keys)], args=[owner])

    # -- state --------------------------------------------------------------------------------------
    def states(self, tenant: str) -> dict[str, bytes]:
        """Alert id -> the raw stored state (compare-and-set needs the exact bytes)."""
        raw = self.r.hgetall(self.tenant(tenant).state)
        return {k.decode(): v for k, v in raw.items()}  # type: ignore[union-attr,misc]

    def apply(
        self,
        tenant: str,
        alert_id: str,
        expected: bytes | None,
        new_state: dict[str, Any] | None,
        firing: dict[str, Any] | None | bool,
        history: dict[str, Any] | None,
        outgoing: list[Outgoing],
    ) -> bool:
        """Write one transition atomically if the state is still ``expected``; True if written.

        ``firing``: a dict to set the firing entry, None to delete it, False to leave it alone.
        """
        k = self.tenant(tenant)
        op = "keep" if firing is False else ("del" if firing is None else "set")
        args: list[Any] = [
            alert_id,
            expected or b"",
            orjson.dumps(new_state) if new_state is not None else b"",
            op,
            orjson.dumps(firing) if isinstance(firing, dict) else b"",
            orjson.dumps(history) if history is not None else b"",
            self.history_max,
            self.history_ttl_s,
        ]
        for o in outgoing:
            args += [o.msg_id, o.due_ms, orjson.dumps(o.body)]
        return bool(self._apply(keys=[k.state, k.firing, k.history, k.outbox, k.bodies], args=args))

    def firing(self, tenant: str) -> dict[str, dict[str, Any]]:
        raw = self.r.hgetall(self.tenant(tenant).firing)
        return {k.decode(): orjson.loads(v) for k, v in raw.items()}  # type: ignore[union-attr]

    def history(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self.tenant(tenant).history, 0, limit - 1)]  # type: ignore[union-attr]

    # -- the outbox ---------------------------------------------------------------------------------
    def enqueue(self, tenant: str, outgoing: list[Outgoing]) -> None:
        """Put messages into the outbox outside a transition (``alerts test --via-outbox``)."""
        k = self.tenant(tenant)
        pipe = self.r.pipeline(transaction=True)
        for o in outgoing:
            pipe.zadd(k.outbox, {o.msg_id: o.due_ms}, nx=True)
            pipe.hset(k.bodies, o.msg_id, orjson.dumps(o.body))
        pipe.execute()

    def claim(self, tenant: str, now_ms: int, lease_ms: int) -> Claimed | None:
        """Take the oldest due message of a tenant for ``lease_ms``, or None."""
        k = self.tenant(tenant)
        got = self._claim(keys=[k.outbox, k.bodies, k.attempts], args=[now_ms, lease_ms])
        if not got:
            return None
        msg_id, body, attempt = got
        return Claimed(tenant, msg_id.decode(), orjson.loads(body), int(attempt))

    def done(self, c: Claimed, record: dict[str, Any] | None) -> None:
        """Remove a sent (or abandoned) message; ``record`` goes to the tenant's deliveries list."""
        k = self.tenant(c.tenant)
        pipe = self.r.pipeline(transaction=True)
        pipe.zrem(k.outbox, c.msg_id)
        pipe.hdel(k.bodies, c.msg_id)
        pipe.hdel(k.attempts, c.msg_id)
        if record is not None:
            pipe.lpush(k.deliveries, orjson.dumps(record))
            pipe.ltrim(k.deliveries, 0, DELIVERIES_MAX - 1)
            pipe.expire(k.deliveries, self.history_ttl_s)
        pipe.execute()

    def retry_at(self, c: Claimed, due_ms: int) -> None:
        self.r.zadd(self.tenant(c.tenant).outbox, {c.msg_id: due_ms}, xx=True)

    def record_failure(self, failure: dict[str, Any]) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.lpush(failures_key(self.keys), orjson.dumps(failure))
        pipe.ltrim(failures_key(self.keys), 0, FAILURES_MAX - 1)
        pipe.execute()

    def failures(self, limit: int = 50) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(failures_key(self.keys), 0, limit - 1)]  # type: ignore[union-attr]

    def deliveries(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return [orjson.loads(x) for x in self.r.lrange(self.tenant(tenant).deliveries, 0, limit - 1)]  # type: ignore[union-attr]

    def outbox_size(self, tenant: str) -> int:
        return int(self.r.zcard(self.tenant(tenant).outbox))  # type: ignore[arg-type]

    # -- rules status -------------------------------------------------------------------------------
    def set_rules_status(self, status: dict[str, Any]) -> None:
        key = rules_status_key(self.keys)
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={k: orjson.dumps(v) for k, v in status.items()})
        pipe.execute()

    def rules_status(self) -> dict[str, Any]:
        raw = self.r.hgetall(rules_status_key(self.keys))
        return {k.decode(): orjson.loads(v) for k, v in raw.items()}  # type: ignore[union-attr]
