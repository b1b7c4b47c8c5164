"""Property: whatever the batching, order and duplication, Redis holds exactly the in-memory fold.

Runs the real Lua store against the session's real redis-server (no Kafka: the pipeline tests
cover that path); the reference is ``stream.kpis.fold`` over the de-duplicated events.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from datetime import date

import redis as redis_lib
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.config import CenterConfig
from stream.embedded import Proc
from stream.events import Event
from stream.keys import CALL_KEEP_S, Keys
from stream.kpis import fold
from stream.query import KpiReader
from stream.store import BatchResult, StoreWriter
from stream.windows import business_day, interval_start, minute_start

CENTER = CenterConfig.parse_yaml(
    """
defaults: {timezone: UTC}
tenants:
  sh: {timezone: Asia/Shanghai, short_abandon_s: 4, sl_thresholds_s: [15, 30], interval_minutes: 30}
  ny: {timezone: America/New_York, day_start_hour: 6}
"""
)
T0 = 1_795_310_100_000
NOW = T0 + 10 * 3_600_000
PROP_DB = 2  # flushed per example: a database of its own


@st.composite
def call_streams(draw: st.DrawFn) -> list[Event]:
    """Whole calls: offer -> (answer -> end -> maybe wrap-up) | abandon | overflow (+ re-offer)."""
    events: list[Event] = []
    n_calls = draw(st.integers(1, 25))
    for i in range(n_calls):
        tenant = draw(st.sampled_from(["sh", "ny", "plain"]))
        queue = draw(st.sampled_from(["general", "vip"]))
        cid = f"c{i}"
        t = T0 + draw(st.integers(0, 3 * 3_600_000))
        caller = draw(st.sampled_from([None, "p1", "p2", "p3"]))
        wait = draw(st.integers(0, 120_000))
        outcome = draw(st.sampled_from(["answered", "abandoned", "overflowed", "waiting"]))

        def mk(etype: str, ts: int, tenant: str = tenant, cid: str = cid, **kw: object) -> Event:
            return Event(
                event_id=f"{cid}-{etype}-{len(events)}",
                type=etype,
                ts_ms=ts,
                tenant=tenant,
                call_id=cid,
                **kw,
            )  # type: ignore[arg-type]

        events.append(mk("call_offered", t, queue=queue, caller=caller))
        if outcome == "answered":
            events.append(mk("call_answered", t + wait, queue=queue, agent_id="a1", wait_ms=wait))
            talk = draw(st.integers(0, 600_000))
            events.append(
                mk(
                    "call_ended",
                    t + wait + talk,
                    queue=queue,
                    agent_id="a1",
                    talk_ms=talk,
                    hold_ms=draw(st.integers(0, 60_000)),
                )
            )
            if draw(st.booleans()):
                events.append(
                    mk("wrapup_ended", t + wait + talk + 30_000, queue=queue, agent_id="a1", acw_ms=30_000)
                )
        elif outcome == "abandoned":
            events.append(mk("call_abandoned", t + wait, queue=queue, wait_ms=wait))
        elif outcome == "overflowed":
            events.append(mk("call_overflowed", t + wait, queue=queue, wait_ms=wait, to_queue="vip"))
        if draw(st.booleans()):
            events.append(
                Event(
                    event_id=f"ag-{i}",
                    type="agent_state",
                    ts_ms=t,
                    tenant=tenant,
                    agent_id=f"a{i % 3}",
                    state=draw(st.sampled_from(["available", "aux", "on_call"])),
                    queues=(queue,),
                )
            )
    return events


def reference(events: list[Event]) -> dict[str, dict[str, int]]:
    """Expected Redis hashes: key -> counters, computed in memory from the unique events."""
    keys = Keys("prop")
    groups: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        if ev.type == "agent_state":
            continue
        cfg = CENTER.tenant(ev.tenant)
        day = business_day(ev.ts_ms, cfg.tz, cfg.day_start_hour).isoformat()
        groups[
            keys.interval(ev.tenant, ev.queue, interval_start(ev.ts_ms, cfg.tz, cfg.interval_minutes))
        ].append(ev)  # type: ignore[arg-type]
        groups[keys.minute(ev.tenant, ev.queue, minute_start(ev.ts_ms))].append(ev)  # type: ignore[arg-type]
        groups[keys.day(ev.tenant, ev.queue, day)].append(ev)  # type: ignore[arg-type]
    out = {}
    for key, evs in groups.items():
        ev0 = evs[0]
        out[key] = {
            k: v
            for k, v in fold(evs, CENTER.tenant(ev0.tenant).knobs(ev0.queue)).items()
            if v or k.startswith("max_")
        }
    return out


def stored(client: redis_lib.Redis) -> dict[str, dict[str, int]]:
    out = {}
    for key in client.scan_iter(match="prop:*", count=1000):
        k = key.decode()
        if any(f":{kind}:" in k for kind in ("iv", "mn", "day")):
            out[k] = {
                f.decode(): int(v) for f, v in client.hgetall(key).items() if int(v) or f.startswith(b"max_")
            }
    return out


def apply_all(port: int, batches: list[list[Event]], horizon_s: int = 86_400) -> list[BatchResult]:
    async def go() -> list[BatchResult]:
        r = aioredis.Redis(port=port, db=PROP_DB)
        w = StoreWriter(r, CENTER, Keys("prop"), horizon_s, lambda: NOW)
        out = [await w.apply(b) for b in batches]
        await r.aclose()
        return out

    return asyncio.run(go())


def test_an_event_is_counted_once_within_the_dedupe_horizon_and_again_after(redis_proc: Proc) -> None:
    """The markers of an hour of event time live the horizon after their last write."""
    client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    client.flushdb()
    ev = Event("h1", "call_offered", T0, "plain", call_id="h", queue="general")
    first, again = apply_all(redis_proc.port, [[ev], [ev, ev]], horizon_s=2)
    assert (first.applied, first.duplicates) == (1, 0)
    assert (again.applied, again.duplicates) == (0, 2)
    seen = Keys("prop").seen("plain", T0 // 3_600_000)
    assert client.smembers(seen) == {b"h1"} and 0 < client.ttl(seen) <= 2
    deadline = time.monotonic() + 10
    while client.exists(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    (late,) = apply_all(redis_proc.port, [[ev]], horizon_s=2)
    assert (late.applied, late.duplicates) == (1, 0)  # beyond the horizon it is a new event
    assert int(client.hget(Keys("prop").meta("plain"), "events") or 0) == 2
    client.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call_streams(), st.randoms(use_true_random=False), st.integers(1, 30), st.floats(0, 0.5))
def test_redis_equals_in_memory_fold(
    redis_proc: Proc, events: list[Event], rnd: random.Random, max_batch: int, dup_share: float
) -> None:
    client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    client.flushdb()
    # Duplicate some events (a source or Kafka delivering twice), shuffle, split at random.
    delivered = events + [e for e in events if rnd.random() < dup_share]
    rnd.shuffle(delivered)
    batches, i = [], 0
    while i < len(delivered):
        n = rnd.randint(1, max_batch)
        batches.append(delivered[i : i + n])
        i += n
    apply_all(redis_proc.port, batches)
    assert stored(client) == reference(events)

    reader = KpiReader(client, CENTER, Keys("prop"))
    meta_events = sum(int(client.hget(Keys("prop").meta(t), "events") or 0) for t in ("sh", "ny", "plain"))
    assert meta_events == len(events)
    # Live state is order-independent too: waiting = offered with no exit in that queue.
    for tenant in ("sh", "ny", "plain"):
        exits = {
            (e.call_id, e.queue)
            for e in events
            if e.tenant == tenant and e.type in ("call_answered", "call_abandoned", "call_overflowed")
        }
        expect_wait: dict[str, int] = defaultdict(int)
        for e in events:
            if e.tenant == tenant and e.type == "call_offered" and (e.call_id, e.queue) not in exits:
                expect_wait[e.queue] += 1  # type: ignore[index]
        got = reader.waiting(tenant, T0 + 3 * 3_600_000 + 1, ["general", "vip"])
        assert {q: n for q, (n, _) in got.items() if n} == dict(expect_wait)
        # Agents: the latest state by event time wins, whatever the order of arrival.
        latest: dict[str, Event] = {}
        for e in events:
            if e.tenant == tenant and e.type == "agent_state":
                cur = latest.get(e.agent_id)  # type: ignore[arg-type]
                if cur is None or (e.ts_ms, e.event_id) > (cur.ts_ms, cur.event_id):
                    latest[e.agent_id] = e  # type: ignore[index]
        assert {a.agent_id: a.state for a in reader.agents(tenant)} == {k: v.state for k, v in latest.items()}
        # Call-back list too: each abandon with its caller, got through if answered later that day.
        assert callback_rows(reader, tenant) == expected_callbacks(events, tenant)
    client.close()


def _day(tenant: str, ts_ms: int) -> str:
    cfg = CENTER.tenant(tenant)
    return business_day(ts_ms, cfg.tz, cfg.day_start_hour).isoformat()


def expected_callbacks(events: list[Event], tenant: str) -> dict[str, list[tuple[object, ...]]]:
    mine = [e for e in events if e.tenant == tenant]
    caller = {e.call_id: e.caller for e in mine if e.type == "call_offered"}
    answered: dict[tuple[str, str], int] = {}  # (day, caller) -> latest answer ts
    for e in mine:
        c = caller.get(e.call_id)
        if e.type == "call_answered" and c:
            key = (_day(tenant, e.ts_ms), c)
            answered[key] = max(answered.get(key, 0), e.ts_ms)
    out: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for e in sorted(mine, key=lambda e: (-e.ts_ms, e.call_id or "")):
        if e.type == "call_abandoned":
            day, c = _day(tenant, e.ts_ms), caller.get(e.call_id)
            later = answered.get((day, c)) if c else None
            out[day].append((e.call_id, c, e.wait_ms, later is not None and later > e.ts_ms))
    return dict(out)


def callback_rows(reader: KpiReader, tenant: str) -> dict[str, list[tuple[object, ...]]]:
    days = {_day(tenant, T0 + h * 3_600_000) for h in range(-24, 28)}
    out = {}
    for day in sorted(days):
        rows = reader.callbacks(tenant, date.fromisoformat(day))
        if rows:
            out[day] = [
                (r["call_id"], r.get("caller"), round(r["wait_s"] * 1000), r["got_through"]) for r in rows
            ]
    return out


def test_callback_list_marks_callers_who_got_through(redis_proc: Proc) -> None:
    """Abandoned by p1 at 09:00, p1 answered at 09:10 -> got through; p2 never -> still lost.
    Applied in reverse order, so the answer (and the caller's offer) arrive before the abandon."""
    t = T0
    evs = [
        Event("1", "call_offered", t, "plain", call_id="x", queue="general", caller="p1"),
        Event("2", "call_abandoned", t + 20_000, "plain", call_id="x", queue="general", wait_ms=20_000),
        Event("3", "call_offered", t + 1000, "plain", call_id="y", queue="general", caller="p2"),
        Event("4", "call_abandoned", t + 9000, "plain", call_id="y", queue="general", wait_ms=8000),
        Event("5", "call_offered", t + 600_000, "plain", call_id="z", queue="vip", caller="p1"),
        Event(
            "6", "call_answered", t + 605_000, "plain", call_id="z", queue="vip", agent_id="a", wait_ms=5000
        ),
    ]
    redis_client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    redis_client.flushdb()
    apply_all(redis_proc.port, [[e] for e in reversed(evs)])
    reader = KpiReader(redis_client, CENTER, Keys("prop"))
    rows = reader.callbacks("plain", business_day(t, CENTER.tenant("plain").tz))
    assert [(r["call_id"], r["caller"], r["wait_s"], r["got_through"]) for r in rows] == [
        ("x", "p1", 20.0, True),
        ("y", "p2", 8.0, False),
    ]


def test_agent_samples_give_agents_by_state_over_time(redis_proc: Proc) -> None:
    """The workers' minute samples of agent states are read back per tenant and per queue."""
    from stream.app import write_agent_samples

    client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    client.flushdb()
    t = T0
    states = [("a1", "available", ("general",)), ("a2", "on_call", ("general", "vip")), ("a3", "aux", None)]
    apply_all(
        redis_proc.port,
        [
            [
                Event(f"s{i}", "agent_state", t, "plain", agent_id=a, state=s, queues=q)
                for i, (a, s, q) in enumerate(states)
            ]
        ],
    )

    async def sample(now: int) -> None:
        r = aioredis.Redis(port=redis_proc.port, db=PROP_DB)
        await write_agent_samples(r, Keys("prop"), now)
        await r.aclose()

    asyncio.run(sample(t + 10_000))
    apply_all(
        redis_proc.port,
        [
            [
                Event(
                    "s9",
                    "agent_state",
                    t + 60_000,
                    "plain",
                    agent_id="a1",
                    state="on_call",
                    queues=("general",),
                )
            ]
        ],
    )
    asyncio.run(sample(t + 70_000))
    reader = KpiReader(client, CENTER, Keys("prop"))
    agents, hist = reader.agents_and_history("plain", t, t + 120_000)
    assert [a.state for a in agents] == ["on_call", "on_call", "aux"]
    assert [(m - t, c["available"], c["on_call"], c["aux"]) for m, c in hist] == [
        (0, 1, 1, 1),
        (60_000, 0, 2, 1),
    ]
    _, vip = reader.agents_and_history("plain", t, t + 120_000, queue="vip")
    assert [c["on_call"] for _, c in vip] == [1, 1]
    client.close()


def test_processed_offsets_never_go_backwards(redis_proc: Proc) -> None:
    """Two batches in flight may finish in either order: the stored offset keeps the larger."""

    async def go() -> dict[bytes, bytes]:
        r = aioredis.Redis(port=redis_proc.port, db=PROP_DB)
        await r.flushdb()
        w = StoreWriter(r, CENTER, Keys("prop"), 86_400, lambda: NOW)
        await w.apply([], offsets={("t", 0): 50, ("t", 1): 7})
        await w.apply([], offsets={("t", 0): 20, ("t", 1): 9})
        out = await r.hgetall(Keys("prop").offsets("t"))
        await r.aclose()
        return out

    assert asyncio.run(go()) == {b"0": b"50", b"1": b"9"}


def test_a_call_requeued_into_the_same_queue_waits_again(redis_proc: Proc) -> None:
    """Offered, overflowed back into its own queue, offered again: waiting; then answered: gone.
    Exits are kept in the waiting set (score -ts) so a late offer is not counted; a re-offer
    later than the exit is."""
    client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    client.flushdb()
    reader = KpiReader(client, CENTER, Keys("prop"))
    q = dict(tenant="plain", call_id="rq", queue="general")
    now = T0 + 3_600_000
    apply_all(
        redis_proc.port,
        [
            [Event("r1", "call_offered", T0, caller="p9", **q)],  # type: ignore[arg-type]
            [Event("r2", "call_overflowed", T0 + 60_000, wait_ms=60_000, to_queue="general", **q)],  # type: ignore[arg-type]
            [Event("r3", "call_offered", T0 + 61_000, caller="p9", **q)],  # type: ignore[arg-type]
        ],
    )
    assert reader.waiting("plain", now, ["general"])["general"] == (1, (now - T0 - 61_000) / 1000)
    apply_all(
        redis_proc.port, [[Event("r4", "call_answered", T0 + 90_000, agent_id="a", wait_ms=29_000, **q)]]
    )  # type: ignore[arg-type]
    assert reader.waiting("plain", now, ["general"])["general"] == (0, None)


def test_calls_whose_exit_never_came_are_pruned(redis_proc: Proc) -> None:
    from stream.app import prune_waiting

    client = redis_lib.Redis(port=redis_proc.port, db=PROP_DB)
    client.flushdb()
    apply_all(
        redis_proc.port,
        [
            [
                Event("o1", "call_offered", T0, "plain", call_id="lost", queue="general"),
                Event("o2", "call_offered", T0 + 3 * 3_600_000, "plain", call_id="fresh", queue="general"),
            ]
        ],
    )

    async def prune(now: int) -> int:
        r = aioredis.Redis(port=redis_proc.port, db=PROP_DB)
        n = await prune_waiting(r, Keys("prop"), now)
        await r.aclose()
        return n

    assert asyncio.run(prune(T0 + 4 * 3_600_000 + 1)) == 1
    assert client.zrange(Keys("prop").waiting("plain", "general"), 0, -1) == [b"fresh"]
    # An exit stays (score -ts) for CALL_KEEP_S, so that a late offer is not counted; then goes.
    apply_all(
        redis_proc.port,
        [
            [
                Event(
                    "x1",
                    "call_abandoned",
                    T0 + 3 * 3_600_000 + 5000,
                    "plain",
                    call_id="fresh",
                    queue="general",
                    wait_ms=5000,
                )
            ]
        ],
    )
    waiting = Keys("prop").waiting("plain", "general")
    assert client.zrange(waiting, 0, -1, withscores=True) == [(b"fresh", -(T0 + 3 * 3_600_000 + 5000))]
    assert asyncio.run(prune(T0 + 3 * 3_600_000 + CALL_KEEP_S * 1000)) == 0
    assert client.zcard(waiting) == 1
    assert asyncio.run(prune(T0 + 3 * 3_600_000 + CALL_KEEP_S * 1000 + 5001)) == 0
    assert client.zcard(waiting) == 0
    client.close()
