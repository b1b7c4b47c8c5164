"""Write a batch of validated events into Redis: exactly-once in effect, one round trip per batch.

Kafka delivers at least once (a killed worker's uncommitted offsets are read again, PLATFORM-NOTES),
so the effect must be made exactly-once here: one Lua script per tenant marks each ``event_id``
as seen (``SET NX EX horizon``) and applies the event's counters and live-state changes only if
the mark is new — both in one atomic step, so a crash can never leave one without the other.
All scripts of a batch, the processed offsets and the dead-letter counts go in one
``MULTI/EXEC`` pipeline.

Building the payload is pure (no I/O): :meth:`BatchBuilder.add` turns events into key indices
and the counter deltas of :func:`stream.kpis.event_deltas`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis

from stream.config import CenterConfig, KpiKnobs, TenantConfig
from stream.events import QUEUE_EXITS, Event, Rejected
from stream.keys import (
    CALL_TTL_MIN_S,
    CALLBACK_TTL_S,
    DAY_TTL_S,
    DLQ_RECENT_MAX,
    DLQ_SEEN_TTL_S,
    INTERVAL_TTL_S,
    MINUTE_TTL_S,
    Keys,
)
from stream.kpis import event_deltas
from stream.windows import business_day, interval_start, minute_start

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
#: Events per Lua call: bounds how long one script holds Redis (dashboard reads interleave).
CHUNK_EVENTS = 2_000


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


class TenantPayload:
    """The JSON payload of one tenant's batch for ``apply_batch.lua``."""

    def __init__(self, keys: Keys, tenant: str, horizon_s: int) -> None:
        self.tenant = tenant
        self.meta_key = keys.meta(tenant)
        self.k: list[str] = []
        self.t: list[int] = []
        self._idx: dict[str, int] = {}
        self.b: list[list[int]] = []
        self._bidx: dict[tuple[int, ...], int] = {}
        self.e: list[list[Any]] = []
        self.queues: set[str] = set()
        self.q = self.key(keys.queues(tenant), 0)
        self.horizon_s = horizon_s
        self.call_ttl_s = max(horizon_s, CALL_TTL_MIN_S)
        self.seen_prefix = keys.seen(tenant, "")
        #: (queue, interval, minute, day) -> bucket-set index: key strings built once per batch.
        self.bsets: dict[tuple[str, int, int, str], int] = {}

    def key(self, name: str, ttl: int) -> int:
        i = self._idx.get(name)
        if i is None:
            i = self._idx[name] = len(self.k)
            self.k.append(name)
            self.t.append(ttl)
        return i

    def bucket_set(self, idxs: tuple[int, ...]) -> int:
        i = self._bidx.get(idxs)
        if i is None:
            i = self._bidx[idxs] = len(self.b)
            self.b.append(list(idxs))
        return i

    def encode(self, now_ms: int) -> bytes:
        return orjson.dumps(
            {
                "k": self.k,
                "t": self.t,
                "b": self.b,
                "e": self.e,
                "sp": self.seen_prefix,
                "h": self.horizon_s,
                "ct": self.call_ttl_s,
                "now": now_ms,
                "q": self.q,
                "qs": sorted(self.queues),
            }
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
        ctx = self._tenant(ev.tenant)
        p = self.payloads.get(ev.tenant)
        if p is None:
            p = self.payloads[ev.tenant] = TenantPayload(self.keys, ev.tenant, self.horizon_s)
        keys, t = self.keys, ev.tenant
        ops: list[list[Any]] = []
        bset = -1
        # A call's events are deduplicated in the call's own hash (field e:<event_id>), which
        # lives at least the dedupe horizon after the call's last event; other events get a key.
        callk = p.key(keys.call(t, ev.call_id), p.call_ttl_s) if ev.call_id is not None else -1
        sums: list[Any] = []
        maxes: list[Any] = []
        if ev.queue is not None and ev.type != "agent_state":
            q = ev.queue
            p.queues.add(q)
            knobs = ctx.knobs.get(q)
            if knobs is None:
                knobs = ctx.knobs[q] = ctx.cfg.knobs(q)
            iv_start, day = ctx.window(ev.ts_ms)
            minute = minute_start(ev.ts_ms)
            bkey = (q, iv_start, minute, day)
            bset = p.bsets.get(bkey, -1)
            if bset < 0:
                iv = p.key(keys.interval(t, q, iv_start), INTERVAL_TTL_S)
                mn = p.key(keys.minute(t, q, minute), MINUTE_TTL_S)
                dk = p.key(keys.day(t, q, day), DAY_TTL_S)
                bset = p.bsets[bkey] = p.bucket_set((iv, mn, dk))
            delta = event_deltas(ev, knobs)
            for name, n in delta.sums.items():
                sums += (name, n)
            for name, n in delta.maxes.items():
                maxes += (name, n)
            ops = self._call_ops(p, ev, day, callk)
        elif ev.type == "agent_state":
            state = {
                "state": ev.state,
                "reason": ev.reason,
                "ts": ev.ts_ms,
                "eid": ev.event_id,
                "queues": list(ev.queues) if ev.queues is not None else None,
            }
            ops = [
                [
                    "g",
                    p.key(keys.agents(t), 0),
                    ev.agent_id,
                    ev.ts_ms,
                    ev.event_id,
                    orjson.dumps(state).decode(),
                ]
            ]
        if bset < 0:
            bset = p.bucket_set(())
        p.e.append([ev.event_id, bset, sums, maxes, ops, ev.ts_ms, callk])

    def _call_ops(self, p: TenantPayload, ev: Event, day: str, callk: int) -> list[list[Any]]:
        keys, t, q = self.keys, ev.tenant, ev.queue
        assert q is not None and ev.call_id is not None
        waitk = p.key(keys.waiting(t, q), 0)
        if ev.type == "call_offered":
            return [["o", waitk, callk, ev.call_id, q, ev.ts_ms, ev.caller if ev.caller else False]]
        if ev.type not in QUEUE_EXITS:
            return []
        ops: list[list[Any]] = [["x", waitk, callk, ev.call_id, q, ev.ts_ms]]
        if ev.type == "call_answered":
            ops.append(["a", callk, p.key(keys.answered_callers(t, day), CALLBACK_TTL_S), ev.ts_ms])
        elif ev.type == "call_abandoned":
            abnk = p.key(keys.abandons(t, day), CALLBACK_TTL_S)
            ops.append(["b", callk, abnk, f"{ev.call_id}|{q}", ev.ts_ms, ev.wait_ms, q, ev.call_id])
        return ops


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

    async def apply(
        self,
        events: Sequence[Event],
        *,
        offsets: dict[tuple[str, int], int] | None = None,
        rejected: Sequence[tuple[str, int, int, Rejected]] = (),
    ) -> BatchResult:
        """Write events, then the next offsets per (topic, partition) and the rejections.

        Each Lua call (one tenant, up to CHUNK_EVENTS events) is atomic on its own: dedupe marks
        and effects together. Chunks are sent as soon as they are built, so Redis applies one
        while Python builds the next; offsets are written only after every chunk succeeded.
        """
        now = self.clock()
        pending: list[asyncio.Future[Any]] = []
        for i in range(0, len(events), CHUNK_EVENTS):
            builder = self.build(events[i : i + CHUNK_EVENTS])
            for payload in builder.payloads.values():
                # EVAL (cached by digest in Redis), not EVALSHA: nothing to reload after a restart.
                fut = asyncio.ensure_future(
                    self.redis.eval(APPLY_LUA, 1, payload.meta_key, payload.encode(now))
                )
                pending.append(fut)
                await asyncio.sleep(0)  # let the command go out while we build the next chunk
        try:
            results = await asyncio.gather(*pending)
        except BaseException:
            await asyncio.gather(*pending, return_exceptions=True)  # leave nothing in flight
            raise
        applied = sum(int(a) for a, _ in results)
        dups = sum(int(d) for _, d in results)
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
