"""Write a batch of validated events into Redis: exactly-once in effect, pipelined per chunk.

Kafka delivers at least once (a killed worker's uncommitted offsets are read again, PLATFORM-NOTES),
so the effect must be made exactly-once here. One Lua script per tenant and chunk
(``lua/apply_batch.lua``) first reads every event's dedupe marker; if none was applied before,
it writes the markers, the counters and the live-state changes in one atomic step, and if some
were, it writes nothing and names them, and :meth:`StoreWriter.apply` sends the chunk again
without them. A crash can never leave a marker without its effect, or the reverse.

The KPI arithmetic stays in Python (:func:`stream.kpis.accumulate`): :class:`BatchBuilder` folds
a chunk's events into per-bucket sums, so Redis only adds one number per key and field. Building
the payload is pure (no I/O); it travels as MessagePack, which Lua unpacks in C.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgspec
import orjson
import redis.asyncio as aioredis

from stream.config import CenterConfig, KpiKnobs, TenantConfig
from stream.events import Event, Rejected
from stream.keys import (
    CALL_KEEP_S,
    CALLBACK_TTL_S,
    DAY_TTL_S,
    DLQ_RECENT_MAX,
    DLQ_SEEN_TTL_S,
    INTERVAL_TTL_S,
    MINUTE_TTL_S,
    SEEN_BUCKET_MS,
    Keys,
)
from stream.kpis import MAX_PREFIX, Counts, accumulate, merge
from stream.windows import business_day, interval_start

APPLY_LUA = resources.files("stream").joinpath("lua/apply_batch.lua").read_text(encoding="utf-8")
#: Raise a partition's processed offset, never lower it.
OFFSET_MAX_LUA = (
    "local cur = redis.call('HGET', KEYS[1], ARGV[1]) "
    "if not cur or tonumber(cur) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
    "return 1"
)
#: Count a rejection once: SET NX the seen-marker, and only then count and remember it.
DLQ_LUA = (
    "if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[3]) then return 0 end "
    "redis.call('HINCRBY', KEYS[2], ARGV[1], 1) "
    "redis.call('LPUSH', KEYS[3], ARGV[2]) "
    "redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1) return 1"
)


#: Every UTC offset in use is a multiple of 15 minutes and changes on such a boundary, so within
#: one 15-minute UTC slice the local interval (15/30/60 min, local-aligned) and the business day
#: are constant: they are computed once per slice.
SLICE_MS = 15 * 60_000
MINUTE_MS = 60_000
DAY_MS = 86_400_000
#: Events per Lua call: bounds how long one script holds Redis (dashboard reads interleave).
CHUNK_EVENTS = 2_000
#: Event ids per HMGET/HSET of a dedupe hash (Lua's unpack() has a stack limit of 8,000).
SEEN_GROUP = 1_000
_PACK = msgspec.msgpack.Encoder()


@dataclass
class _TenantCtx:
    """Per-tenant caches used while building payloads (config lookups are hot)."""

    cfg: TenantConfig
    knobs: dict[str, KpiKnobs] = field(default_factory=dict)
    slices: dict[int, tuple[int, str]] = field(default_factory=dict)  # slice -> (interval, day)

    def window(self, ts_ms: int) -> tuple[int, str]:
        """(local interval start, business day ISO) of an instant, cached per 15-minute slice."""
        sl = ts_ms // SLICE_MS
        hit = self.slices.get(sl)
        if hit is None:
            cfg = self.cfg
            hit = self.slices[sl] = (
                interval_start(ts_ms, cfg.tz, cfg.interval_minutes),
                business_day(ts_ms, cfg.tz, cfg.day_start_hour).isoformat(),
            )
        return hit


class _Slot:
    """What every call event of one queue and minute shares within a payload: its bucket keys,
    its running sums, its queue's knobs and live-state keys (built once, not once per event)."""

    __slots__ = ("bset", "sums", "maxes", "knobs", "waitk", "day", "ansk", "abnk")

    def __init__(self, bset: tuple[int, int, int], knobs: KpiKnobs, waitk: int, day: str) -> None:
        self.bset = bset
        self.sums: Counts = {}
        self.maxes: Counts = {}
        self.knobs = knobs
        self.waitk = waitk
        self.day = day
        self.ansk = -1  # answered-callers and abandons key idx of the day, made when first needed
        self.abnk = -1


class TenantPayload:
    """One tenant's share of a chunk, as ``apply_batch.lua`` takes it (see the script's header)."""

    def __init__(self, keys: Keys, tenant: str, dups: int = 0) -> None:
        self.tenant = tenant
        self.meta_key = keys.meta(tenant)
        self.keep_s = CALL_KEEP_S
        self.k: list[str] = []
        self.t: list[int] = []
        self._idx: dict[str, int] = {}
        self.events: list[Event] = []  # kept for a retry without the already-applied ones
        self.ids: set[str] = set()
        self.dups = dups  # repeats dropped before Redis saw them (within the chunk, or retried)
        self.seen: dict[int, list[Any]] = {}  # hour bucket -> [seen key idx, event_id, ...]
        self.slots: dict[tuple[str, int], _Slot] = {}  # (queue, minute) -> slot
        self.callers: dict[int, tuple[int, int]] = {}  # UTC day -> callers key idx: that day, the day before
        self.call_prefix = keys.call(tenant, "")
        self.ops: list[Any] = []
        self.queues: set[str] = set()
        self.q = self.key(keys.queues(tenant), 0)
        self.max_ts = 0

    def key(self, name: str, ttl: int) -> int:
        i = self._idx.get(name)
        if i is None:
            i = self._idx[name] = len(self.k)
            self.k.append(name)
            self.t.append(ttl)
        elif ttl > self.t[i]:  # read-only in one event (yesterday's callers), written in another
            self.t[i] = ttl
        return i

    def encode(self, now_ms: int) -> bytes:
        # A key's counters are the chunk's slots merged by the fold's own rule (kpis.merge).
        per_key: dict[int, Counts] = {}
        for slot in self.slots.values():
            for ki in slot.bset:
                per_key[ki] = merge(merge(per_key.get(ki, {}), slot.sums), slot.maxes)
        counters: list[Any] = []
        maxima: list[Any] = []
        for ki, acc in per_key.items():
            for name, n in acc.items():
                (maxima if name.startswith(MAX_PREFIX) else counters).extend((ki, name, n))
        groups = [
            [g[0], *g[i : i + SEEN_GROUP]] for g in self.seen.values() for i in range(1, len(g), SEEN_GROUP)
        ]
        return _PACK.encode(
            [
                now_ms,
                self.keep_s,
                self.k,
                self.t,
                groups,
                counters,
                maxima,
                self.ops,
                self.q,
                sorted(self.queues),
                len(self.events),
                self.dups,
                self.max_ts,
                self.call_prefix,
            ]
        )


class BatchBuilder:
    """Turns events into per-tenant payloads. Pure: the same events give the same payloads."""

    def __init__(self, center: CenterConfig, keys: Keys, horizon_s: int) -> None:
        self.center = center
        self.keys = keys
        self.horizon_s = horizon_s
        self.payloads: dict[str, TenantPayload] = {}
        self._ctx: dict[str, _TenantCtx] = {}

    def _tenant(self, tenant: str) -> _TenantCtx:
        ctx = self._ctx.get(tenant)
        if ctx is None:
            ctx = self._ctx[tenant] = _TenantCtx(self.center.tenant(tenant))
        return ctx

    def add(self, ev: Event) -> None:
        t, eid = ev.tenant, ev.event_id
        p = self.payloads.get(t)
        if p is None:
            p = self.payloads[t] = TenantPayload(self.keys, t)
        if eid in p.ids:
            p.dups += 1
            return
        p.ids.add(eid)
        p.events.append(ev)
        keys, ts, etype = self.keys, ev.ts_ms, ev.type
        if ts > p.max_ts:
            p.max_ts = ts
        hour = ts // SEEN_BUCKET_MS
        group = p.seen.get(hour)
        if group is None:
            group = p.seen[hour] = [p.key(keys.seen(t, hour), self.horizon_s)]
        group.append(eid)
        if etype == "agent_state":
            state = {
                "state": ev.state,
                "reason": ev.reason,
                "ts": ts,
                "eid": eid,
                "queues": list(ev.queues) if ev.queues is not None else None,
            }
            p.ops += ("g", p.key(keys.agents(t), 0), ev.agent_id, ts, eid, orjson.dumps(state).decode())
            return
        q, cid = ev.queue, ev.call_id
        assert q is not None and cid is not None  # required of every call event (stream.events)
        minute = ts - ts % MINUTE_MS
        slot = p.slots.get((q, minute))
        if slot is None:
            slot = p.slots[q, minute] = self._slot(p, q, minute)
        accumulate(ev, slot.knobs, slot.sums, slot.maxes)
        if etype == "call_ended" or etype == "wrapup_ended":
            return  # counters only: no live state
        if etype == "call_overflowed":
            p.ops += ("x", slot.waitk, cid, ts)
            return
        utc_day = ts // DAY_MS
        callers = p.callers.get(utc_day)
        if callers is None:
            callers = p.callers[utc_day] = (
                p.key(keys.callers(t, utc_day), CALL_KEEP_S),
                p.key(keys.callers(t, utc_day - 1), 0),
            )
        if etype == "call_offered":
            p.ops += ("o", slot.waitk, cid, ts, callers[0], ev.caller or "")
        elif etype == "call_answered":
            # An exit reads the caller its offer wrote (that day's hash, or the day before's).
            if slot.ansk < 0:
                slot.ansk = p.key(keys.answered_callers(t, slot.day), CALLBACK_TTL_S)
            p.ops += ("a", slot.waitk, cid, ts, callers[0], callers[1], slot.ansk)
        elif etype == "call_abandoned":
            if slot.abnk < 0:
                slot.abnk = p.key(keys.abandons(t, slot.day), CALLBACK_TTL_S)
            p.ops += ("b", slot.waitk, cid, q, ts, callers[0], callers[1], slot.abnk, ev.wait_ms or 0)

    def _slot(self, p: TenantPayload, q: str, minute: int) -> _Slot:
        ctx, keys, t = self._tenant(p.tenant), self.keys, p.tenant
        knobs = ctx.knobs.get(q)
        if knobs is None:
            knobs = ctx.knobs[q] = ctx.cfg.knobs(q)
        iv_start, day = ctx.window(minute)  # intervals and days begin on a minute
        bset = (
            p.key(keys.interval(t, q, iv_start), INTERVAL_TTL_S),
            p.key(keys.minute(t, q, minute), MINUTE_TTL_S),
            p.key(keys.day(t, q, day), DAY_TTL_S),
        )
        p.queues.add(q)
        return _Slot(bset, knobs, p.key(keys.waiting(t, q), 0), day)


@dataclass(frozen=True)
class BatchResult:
    applied: int
    duplicates: int
    rejected_new: int


class StoreWriter:
    """Applies batches to Redis. Safe to call again with the same batch (idempotent)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        center: CenterConfig,
        keys: Keys,
        horizon_s: int,
        clock: Callable[[], int],
    ) -> None:
        self.redis = redis
        self.center = center
        self.keys = keys
        self.horizon_s = horizon_s
        self.clock = clock  # wall clock in epoch ms (injected for tests)

    def build(self, events: Iterable[Event]) -> BatchBuilder:
        builder = BatchBuilder(self.center, self.keys, self.horizon_s)
        for ev in events:
            builder.add(ev)
        return builder

    async def _send(self, payload: TenantPayload, now: int) -> list[Any]:
        # EVAL (cached by digest in Redis), not EVALSHA: nothing to reload after a restart.
        return await self.redis.eval(APPLY_LUA, 1, payload.meta_key, payload.encode(now))  # type: ignore[no-any-return]

    async def apply(
        self,
        events: Sequence[Event],
        *,
        offsets: dict[tuple[str, int], int] | None = None,
        rejected: Sequence[tuple[str, int, int, Rejected]] = (),
    ) -> BatchResult:
        """Write events, then the next offsets per (topic, partition) and the rejections.

        Each Lua call (one tenant, up to CHUNK_EVENTS events) is atomic on its own. Chunks are
        sent as soon as they are built, so Redis applies one while Python builds the next; a
        chunk that held events applied before is sent again without them; offsets are written
        only after every chunk succeeded.
        """
        now = self.clock()
        pending: list[tuple[TenantPayload, asyncio.Future[Any]]] = []
        for i in range(0, len(events), CHUNK_EVENTS):
            builder = self.build(events[i : i + CHUNK_EVENTS])
            for payload in builder.payloads.values():
                pending.append((payload, asyncio.ensure_future(self._send(payload, now))))
                await asyncio.sleep(0)  # let the command go out while we build the next chunk
        try:
            results = await asyncio.gather(*(fut for _, fut in pending))
        except BaseException:
            await asyncio.gather(*(fut for _, fut in pending), return_exceptions=True)
            raise
        applied = dups = 0
        for (payload, _), result in zip(pending, results, strict=True):
            while int(result[0]) == 0:  # some were applied before: drop them and send the rest
                rest = self._without(payload, {x.decode() for x in result[1]})
                if len(rest.events) == len(payload.events):  # cannot happen; never loop forever
                    msg = f"apply_batch named repeats that are not in the chunk: {result[1][:5]!r}"
                    raise RuntimeError(msg)
                payload = rest
                result = await self._send(payload, now)
            applied += len(payload.events)
            dups += payload.dups
        tenants = {ev.tenant for ev in events}
        async with self.redis.pipeline(transaction=True) as pipe:
            for (topic, part), nxt in (offsets or {}).items():
                # Never backwards: two batches may be in flight and finish in either order.
                pipe.eval(OFFSET_MAX_LUA, 1, self.keys.offsets(topic), str(part), nxt)
            for topic, part, offset, rej in rejected:
                self._reject(pipe, topic, part, offset, rej, now)
            if tenants:
                pipe.sadd(self.keys.tenants, *tenants)
            out = await pipe.execute()
        n_off = len(offsets or {})
        new_rej = sum(int(x) for x in out[n_off : n_off + len(rejected)])
        return BatchResult(applied, dups, new_rej)

    def _without(self, payload: TenantPayload, applied_before: set[str]) -> TenantPayload:
        """The same chunk minus the events Redis already holds (counted as duplicates)."""
        builder = BatchBuilder(self.center, self.keys, self.horizon_s)
        rest = TenantPayload(self.keys, payload.tenant, payload.dups + len(applied_before))
        builder.payloads[payload.tenant] = rest
        for ev in payload.events:
            if ev.event_id not in applied_before:
                builder.add(ev)
        return rest

    def _reject(self, pipe: Any, topic: str, part: int, offset: int, rej: Rejected, now: int) -> None:
        # Count each rejected input once even if its message is delivered again: a seen-marker
        # per (topic, partition, offset, index), set atomically with the count.
        pipe.eval(
            DLQ_LUA,
            3,
            self.keys.dlq_seen(topic, part, offset, rej.index),
            self.keys.dlq_counts,
            self.keys.dlq_recent,
            rej.reason,
            orjson.dumps(dlq_record(topic, part, offset, rej, now)).decode(),
            DLQ_SEEN_TTL_S,
            DLQ_RECENT_MAX,
        )


def dlq_record(topic: str, part: int, offset: int, rej: Rejected, now_ms: int) -> dict[str, Any]:
    """The dead-letter record of docs/events.md (also what goes to the dead-letter topic)."""
    try:
        raw: str = rej.raw.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        import base64

        raw = base64.b64encode(rej.raw).decode()
        encoding = "base64"
    return {
        "reason": rej.reason,
        "detail": rej.detail,
        "topic": topic,
        "partition": part,
        "offset": offset,
        "index": rej.index,
        "raw": raw,
        "raw_encoding": encoding,
        "rejected_at_ms": now_ms,
    }
