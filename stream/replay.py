"""``python -m stream replay FILE``: a recorded day through the real pipeline, KPIs out.

With ``--embedded`` (the default when no broker is configured) it starts a private Tansu, Redis
and worker, so a backfill or a correctness check needs nothing else running; otherwise it uses
the configured broker and Redis and expects workers to be running there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import redis as redis_lib

from stream.config import Settings, load_settings
from stream.embedded import start_redis, start_tansu
from stream.errors import CallPulseError
from stream.events import decode_message
from stream.keys import Keys
from stream.publish import EventPublisher
from stream.query import KpiReader, as_text
from stream.stack import WorkerProc, stack_env, start_worker, wait_caught_up
from stream.topics import ensure_topics


def read_lines(path: Path) -> list[bytes]:
    """Non-blank lines of a JSON Lines file, as bytes (invalid ones included: they dead-letter)."""
    try:
        return [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror}"
        raise CallPulseError(msg) from e


async def publish_lines(broker: str, topic: str, lines: list[bytes], batch: int) -> dict[int, int]:
    """Send each line's events (valid ones keyed by call, in arrays of ``batch``); return offsets."""
    async with EventPublisher(broker, topic) as pub:
        events: list[dict[str, Any]] = []
        for line in lines:
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError:
                await pub.send_raw(line)  # the worker dead-letters it with its reason
                continue
            items = doc if isinstance(doc, list) else [doc]
            for item in items:
                if isinstance(item, dict):
                    events.append(item)
                else:
                    await pub.send_raw(orjson.dumps(item))
        await pub.send_many(events, batch=batch)
        return dict(pub.last_offsets)


def tenant_spans(lines: list[bytes]) -> dict[str, tuple[int, int]]:
    """Per tenant, the [first, last] event time in the file (to know which intervals to print)."""
    spans: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        good, _ = decode_message(line)
        for ev in good:
            spans[ev.tenant].append(ev.ts_ms)
    return {t: (min(v), max(v)) for t, v in spans.items()}


@contextlib.contextmanager
def _embedded(settings_env: dict[str, str]) -> Iterator[tuple[Settings, WorkerProc | None]]:
    tansu = start_tansu()
    redis = start_redis()
    worker = None
    try:
        env = stack_env(tansu, redis, 0, **settings_env)
        worker = start_worker(env, f"replay-{uuid.uuid4().hex[:6]}")
        yield (
            load_settings(kafka_broker=env["CALLPULSE_KAFKA_BROKER"], redis_url=env["CALLPULSE_REDIS_URL"]),
            worker,
        )
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
        tansu.stop()


def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    lines = read_lines(Path(args.file))
    embedded = args.embedded if args.embedded is not None else "CALLPULSE_KAFKA_BROKER" not in os.environ
    ctx: contextlib.AbstractContextManager[tuple[Settings, WorkerProc | None]]
    if embedded:
        passthrough = {
            k: v
            for k, v in os.environ.items()
            if k.startswith("CALLPULSE_") and k not in ("CALLPULSE_KAFKA_BROKER", "CALLPULSE_REDIS_URL")
        }
        ctx = _embedded(passthrough)
    else:
        ctx = contextlib.nullcontext((load_settings(), None))
    with ctx as (settings, worker):
        asyncio.run(
            ensure_topics(
                settings.kafka_broker,
                {settings.events_topic: settings.partitions, settings.deadletter_topic: 1},
            )
        )
        offsets = asyncio.run(publish_lines(settings.kafka_broker, settings.events_topic, lines, args.batch))
        keys = Keys(settings.key_prefix)
        client = redis_lib.Redis.from_url(settings.redis_url.get_secret_value())
        wait_caught_up(client, keys, settings.events_topic, offsets, timeout=args.timeout, worker=worker)
        reader = KpiReader(client, settings.center, keys)
        out: dict[str, Any] = {"tenants": {}, "deadletter": reader.deadletter(limit=20)["counts"]}
        for tenant, (first, last) in sorted(tenant_spans(lines).items()):
            if args.tenant and tenant not in args.tenant:
                continue
            rows = reader.intervals(tenant, first, last + 1)
            out["tenants"][tenant] = {
                "intervals": [{k: v for k, v in r.items() if k != "counts"} for r in rows],
                "meta": {as_text(k): int(v) for k, v in client.hgetall(keys.meta(tenant)).items()},  # type: ignore[union-attr]
            }
        client.close()
        return out
