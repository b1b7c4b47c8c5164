"""Spine benchmark: raw aiokafka consumer vs bare Faust loop vs the full pipeline, same broker.

Prints events/s for one event per message and for JSON arrays of 100 events, the full
pipeline's share of the bare Faust loop, and event-to-Redis latency p50/p99 at a fixed
1,000 events/s. Aims (issue 6): full >= 70 % of bare Faust on single-event messages;
>= 100,000 events/s per worker on batched messages; p99 <= 250 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import redis as redis_lib
from aiokafka import AIOKafkaConsumer

from stream.embedded import start_redis, start_tansu
from stream.keys import Keys
from stream.publish import EventPublisher
from stream.stack import stack_env, start_worker, wait_caught_up
from stream.topics import ensure_topics
from tests.streams import synthetic_calls

ROOT = Path(__file__).resolve().parent.parent
N_SINGLE = int(os.environ.get("BENCH_SINGLE", "60000"))
N_BATCHED = int(os.environ.get("BENCH_BATCHED", "500000"))
#: Rounds of (bare Faust, full pipeline) per case; the medians are compared. This VM's speed
#: drifts by up to ~1.8x over minutes (other tenants), so one round can mislead either way.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PARTS = 4


def events(n: int, tenant: str) -> list[dict[str, Any]]:
    out = synthetic_calls(n // 3 + 1, tenant, spread_ms=8 * 3_600_000)
    return out[:n]


async def load(broker: str, topic: str, evs: list[dict[str, Any]], batch: int) -> int:
    """Pre-load a topic; returns the number of messages written."""
    await ensure_topics(broker, {topic: PARTS})
    msgs = 0
    async with EventPublisher(broker, topic, linger_ms=20) as pub:
        for i in range(0, len(evs), 50_000):
            msgs += await pub.send_many(evs[i : i + 50_000], batch=batch)
    return msgs


async def raw_consumer(port: int, topic: str, expect: int) -> float:
    """Events/s of a plain aiokafka consumer that decodes each message's JSON."""
    c = AIOKafkaConsumer(
        topic,
        bootstrap_servers=f"127.0.0.1:{port}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 << 20,
    )
    await c.start()
    n, first = 0, 0.0
    try:
        while n < expect:
            for recs in (await c.getmany(timeout_ms=1000, max_records=10_000)).values():
                if not first:
                    first = time.perf_counter()
                for r in recs:
                    doc = orjson.loads(r.value)
                    n += len(doc) if isinstance(doc, list) else 1
    finally:
        await c.stop()
    return n / (time.perf_counter() - first)


def bare_faust(port: int, topic: str, expect: int, decode: bool, run: int = 0) -> float:
    out = Path(tempfile.mkdtemp()) / "bare.json"
    env = {
        **os.environ,
        "BENCH_BROKER": f"kafka://127.0.0.1:{port}",
        "BENCH_TOPIC": topic,
        "BENCH_EXPECT": str(expect),
        "BENCH_OUT": str(out),
        "BENCH_DECODE": "1" if decode else "0",
        "BENCH_RUN": str(run),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.faust_bare", "worker", "--without-web", "-l", "warn"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not out.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("bare Faust agent did not finish")
            time.sleep(0.1)
        time.sleep(0.05)
        r = json.loads(out.read_text())
        return r["events"] / r["seconds"]
    finally:
        proc.terminate()
        try:
            proc.wait(8)
        except subprocess.TimeoutExpired:
            proc.kill()


def worker_env(tansu: Any, redis: Any, topic: str, prefix: str, app_id: str) -> dict[str, str]:
    """A quiet worker on its own topic, key prefix and consumer group, with short group timeouts."""
    return stack_env(
        tansu,
        redis,
        CALLPULSE_EVENTS_TOPIC=topic,
        CALLPULSE_KEY_PREFIX=prefix,
        CALLPULSE_APP_ID=app_id,
        CALLPULSE_PARTITIONS=str(PARTS),
        CALLPULSE_SESSION_TIMEOUT_S="6",
        CALLPULSE_HEARTBEAT_INTERVAL_S="1.5",
        CALLPULSE_LOG_LEVEL="warn",
    )


def full_pipeline(tansu: Any, redis: Any, topic: str, tenant: str, n: int, run: int = 0) -> float:
    """Events/s of a real worker: from its first stored batch to the last one."""
    prefix = f"b{topic[-6:]}{run}"
    env = worker_env(tansu, redis, topic, prefix, f"bench-{topic}-{run}")
    client = redis_lib.Redis(port=redis.port)
    meta = Keys(prefix).meta(tenant)
    w = start_worker(env, f"bench-{topic}")
    try:
        deadline = time.monotonic() + 120
        while not client.hget(meta, "events"):
            if time.monotonic() > deadline or not w.alive():
                raise RuntimeError(f"worker did not start:\n{w.log_tail()}")
            time.sleep(0.005)
        first_n, first = int(client.hget(meta, "events") or 0), time.perf_counter()
        while int(client.hget(meta, "events") or 0) < n:
            time.sleep(0.02)  # light polling: this process shares the 2 cores with the worker
        return (n - first_n) / (time.perf_counter() - first)
    finally:
        w.stop()
        client.close()


def latency(
    tansu: Any, redis: Any, batch: int, rate: int = 1000, seconds: float = 10.0
) -> tuple[float, float]:
    """p50/p99 ms from send to visible in Redis (the tenant's applied-events counter), at ``rate``."""
    topic, tenant = f"lat{batch}-{os.getpid()}", f"lat{batch}"
    prefix = f"l{batch}"
    asyncio.run(ensure_topics(f"kafka://127.0.0.1:{tansu.port}", {topic: PARTS}))
    env = worker_env(tansu, redis, topic, prefix, f"lat-{topic}")
    w = start_worker(env, f"lat-{batch}")
    client = redis_lib.Redis(port=redis.port)
    keys = Keys(prefix)
    evs = events(int(rate * seconds) + 200, tenant)
    sent_at: list[float] = []
    try:
        # Warm up: one event through, so group join is not measured.
        async def one() -> dict[int, int]:
            async with EventPublisher(f"kafka://127.0.0.1:{tansu.port}", topic) as pub:
                await pub.send_many(evs[:1])
                return pub.last_offsets

        wait_caught_up(client, keys, topic, asyncio.run(one()), timeout=120, worker=w)
        body = evs[1:]
        seen: list[tuple[float, int]] = []
        stop = threading.Event()

        def poll() -> None:
            c = redis_lib.Redis(port=redis.port)
            while not stop.is_set():
                seen.append((time.perf_counter(), int(c.hget(keys.meta(tenant), "events") or 0) - 1))
                time.sleep(0.002)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()

        async def send() -> None:
            async with EventPublisher(f"kafka://127.0.0.1:{tansu.port}", topic, linger_ms=0) as pub:
                start = time.perf_counter()
                step = batch / rate
                for i in range(0, len(body), batch):
                    target = start + (i // batch) * step
                    delay = target - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    now = time.perf_counter()
                    chunk = body[i : i + batch]
                    sent_at.extend([now] * len(chunk))
                    await pub.send_many(chunk, batch=batch)

        asyncio.run(send())
        deadline = time.monotonic() + 30
        while (int(client.hget(keys.meta(tenant), "events") or 0) - 1) < len(
            body
        ) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        stop.set()
        poller.join()
        # latency of event k = first poll time at which >= k+1 events were applied, minus its send.
        lat, j = [], 0
        for k, t_send in enumerate(sent_at):
            while j < len(seen) and seen[j][1] < k + 1:
                j += 1
            if j == len(seen):
                break
            lat.append((seen[j][0] - t_send) * 1000)
        lat.sort()
        return statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
    finally:
        w.stop()
        client.close()


def main() -> None:
    tansu, redis = start_tansu(), start_redis()
    broker = f"kafka://127.0.0.1:{tansu.port}"
    try:
        print(f"CallPulse spine benchmark — Tansu + redis-server on this machine ({os.cpu_count()} cores)")
        rows = []
        cases = (
            ("1 event/message", "bench-single", N_SINGLE, 1, "bs"),
            ("100 events/message", "bench-batched", N_BATCHED, 100, "bb"),
        )
        for name, topic, n, per_msg, tenant in cases:
            # Load each case just before measuring it: Tansu (memory-only) fetches measurably
            # slower when it holds the other case's data too.
            msgs = asyncio.run(load(broker, topic, events(n, tenant), per_msg))
            raw = asyncio.run(raw_consumer(tansu.port, topic, n))
            # The bare loop iterates messages; its rate in events/s is messages/s x events/message.
            bares, fulls = [], []
            for r in range(ROUNDS):  # alternate, so that a slow spell hits both alike
                bares.append(bare_faust(tansu.port, topic, msgs, decode=False, run=r) * (n / msgs))
                fulls.append(full_pipeline(tansu, redis, topic, tenant, n, run=r))
            print(
                f"  {name}: bare Faust {', '.join(f'{b:,.0f}' for b in bares)} /s; "
                f"full pipeline {', '.join(f'{f:,.0f}' for f in fulls)} /s"
            )
            bare, full = statistics.median(bares), statistics.median(fulls)
            rows.append((name, n, raw, bare, full))
        print(f"\nMedians of {ROUNDS} rounds:")
        head = ("messages", "events", "raw aiokafka+json", "bare Faust loop", "full pipeline", "full/bare")
        print("\n{:<20}{:>9}{:>20}{:>18}{:>16}{:>11}".format(*head))
        for name, n, raw, bare, full in rows:
            print(f"{name:<20}{n:>9}{raw:>17,.0f}/s{bare:>15,.0f}/s{full:>13,.0f}/s{full / bare:>10.0%}")
        print("\nAims: full/bare >= 70 % on 1 event/message; >= 100,000 events/s on 100 events/message")
        share = rows[0][4] / rows[0][3]
        print(f"  single: {share:.0%} of bare Faust  ->  {'met' if share >= 0.7 else 'NOT met'}")
        print(f"  batched: {rows[1][4]:,.0f} events/s  ->  {'met' if rows[1][4] >= 100_000 else 'NOT met'}")
        print("\nEvent-to-Redis latency at 1,000 events/s (10 s):")
        for b in (1, 100):
            p50, p99 = latency(tansu, redis, b)
            verdict = "met" if p99 <= 250 else "NOT met"
            print(f"  {b:>3} event(s)/message: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (aim <= 250: {verdict})")
    finally:
        redis.stop()
        tansu.stop()


if __name__ == "__main__":
    main()
