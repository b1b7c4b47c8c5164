"""The one ``faust.App``: a Kafka consumer group whose agent folds call events into Redis.

Built by :func:`create_app` from the settings (no import-time configuration). One agent reads
the events topic into micro-batches (``stream/batcher.py``: acknowledged only after the Redis
write, while the next batch fills), a timer writes the worker heartbeat, and alert timers run
when ``CALLPULSE_ALERTS_RULES`` is set (``stream/alerts``).

No Faust tables: on Tansu, changelog recovery loses data (PLATFORM-NOTES), and Redis is the
store anyway; the worker is stateless and any number of them share the partitions.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
import redis.asyncio as aioredis

from stream.batcher import Batcher
from stream.config import REDIS_OPTIONS, Settings
from stream.keys import Keys
from stream.processor import BatchProcessor, Message
from stream.query import as_text
from stream.store import StoreWriter

log = logging.getLogger(__name__)


def wall_ms() -> int:
    """The wall clock in epoch ms (the one place the worker reads it; injected elsewhere)."""
    return time.time_ns() // 1_000_000


def redis_client(settings: Settings) -> aioredis.Redis:
    """An asyncio Redis client from the URL (password and TLS via ``rediss://`` allowed)."""
    return aioredis.Redis.from_url(settings.redis_url.get_secret_value(), **REDIS_OPTIONS)


async def _tenants(r: aioredis.Redis, keys: Keys) -> list[str]:
    return [as_text(t) for t in await r.smembers(keys.tenants)]


AGENT_SAMPLE_S = 20.0  # several samples per minute bucket: a missed tick loses nothing


async def write_agent_samples(r: aioredis.Redis, keys: Keys, now_ms: int) -> None:
    """Write each tenant's agent counts (tenant and per queue) into this minute's sample hash."""
    from stream.keys import MINUTE_TTL_S
    from stream.query import agent_counts, parse_agents
    from stream.windows import minute_start

    minute = minute_start(now_ms)
    tenants = await _tenants(r, keys)
    async with r.pipeline(transaction=False) as pipe:
        for t in tenants:
            pipe.hgetall(keys.agents(t))
        states = await pipe.execute()
    async with r.pipeline(transaction=False) as pipe:
        for t, raw in zip(tenants, states, strict=True):
            if not raw:
                continue
            agents = parse_agents(raw)
            fields: dict[Any, Any] = dict(agent_counts(agents))
            for q in sorted({q for a in agents for q in (a.queues or ())}):
                fields.update({f"{q}|{s}": n for s, n in agent_counts(agents, q).items()})
            pipe.hset(keys.agent_samples(t, minute), mapping=fields)
            pipe.expire(keys.agent_samples(t, minute), MINUTE_TTL_S)
        await pipe.execute()


async def prune_waiting(r: aioredis.Redis, keys: Keys, now_ms: int) -> int:
    """Drop calls "waiting" longer than WAITING_STALE_S (their exit event was lost), and exits
    older than CALL_KEEP_S (kept so that a late offer is not counted as waiting).

    Without this a lost exit would keep a member in the waiting set forever. Returns how many
    waiting calls were removed (logged: a steady trickle means a source drops exit events).
    """
    from stream.keys import CALL_KEEP_S, WAITING_STALE_S

    floor = now_ms - WAITING_STALE_S * 1000
    exits_floor = -(now_ms - CALL_KEEP_S * 1000)  # an exit at ts is stored as -ts
    tenants = await _tenants(r, keys)
    async with r.pipeline(transaction=False) as pipe:
        for t in tenants:
            pipe.smembers(keys.queues(t))
        queue_sets = await pipe.execute()
    async with r.pipeline(transaction=False) as pipe:
        for t, qs in zip(tenants, queue_sets, strict=True):
            for q in qs:
                k = keys.waiting(t, as_text(q))
                pipe.zremrangebyscore(k, 0, floor)
                pipe.zremrangebyscore(k, f"({exits_floor}", "(0")
        removed = sum(int(n) for n in (await pipe.execute())[::2])
    if removed:
        log.warning("pruned %d calls waiting longer than %d s (lost exit events)", removed, WAITING_STALE_S)
    return removed


def tune_fetch_wait(max_wait_ms: int) -> None:
    """Lower the worker consumer's ``fetch_max_wait_ms`` (Faust hard-codes 1500 ms).

    Measured here: a consumer of a 4-partition topic on Tansu with a 1500 ms fetch wait saw
    single events 450-1300 ms after they were produced (Tansu answers a multi-partition fetch
    late when data arrives mid-wait); with 100 ms, 2-5 ms. Apache Kafka wakes a waiting fetch at
    once, so this only costs a few more empty fetches per second there.
    """
    from faust.transport.drivers import aiokafka as driver

    thread_cls = driver.AIOKafkaConsumerThread
    original = getattr(thread_cls, "_callpulse_original", thread_cls._create_worker_consumer)

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read by the fetcher at start()
        return consumer

    thread_cls._callpulse_original = original  # type: ignore[attr-defined]
    thread_cls._create_worker_consumer = create  # type: ignore[method-assign]


def create_app(settings: Settings) -> faust.App:
    tune_fetch_wait(settings.fetch_max_wait_ms)
    datadir = Path(tempfile.gettempdir()) / f"callpulse-faust-{settings.worker_id}"
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_broker,
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        store="memory://",
        datadir=str(datadir),
        web_enabled=settings.web_port is not None,
        web_port=settings.web_port or 6066,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        logging_config=None,
    )
    keys = Keys(settings.key_prefix)
    events_topic = app.topic(settings.events_topic, partitions=settings.partitions)
    dlq_topic = app.topic(settings.deadletter_topic, partitions=1)
    state: dict[str, Any] = {}

    def processor() -> BatchProcessor:
        proc = state.get("processor")
        if proc is None:
            writer = StoreWriter(
                redis_client(settings), settings.center, keys, settings.dedupe_horizon_s, wall_ms
            )

            async def dead_letter(record: bytes) -> None:
                await dlq_topic.send(value=record)

            proc = state["processor"] = BatchProcessor(writer, dead_letter)
        return proc

    @app.agent(events_topic, name="fold-events")
    async def fold_events(stream: faust.StreamT) -> None:
        manual = stream.noack()  # type: ignore[attr-defined]  # acked by the batcher, after the write

        async def write(batch: Sequence[faust.EventT]) -> None:
            msgs = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.value)
                for e in batch
            ]
            result = await processor().process(msgs)
            log.debug("batch of %d messages: %s", len(msgs), result)

        batcher: Batcher[faust.EventT] = Batcher(
            write, manual.ack, max_events=settings.batch_max, within_s=settings.batch_within_s
        )
        try:
            async for event in manual.events():
                await batcher.add(event)
        finally:
            await batcher.drain()

    @app.timer(interval=1.0, name="heartbeat")
    async def heartbeat() -> None:
        """The dashboard's "stream alive" signal: wall time of this worker's last beat."""
        try:
            r = processor().writer.redis
            now = wall_ms()
            async with r.pipeline(transaction=False) as pipe:
                pipe.hset(keys.workers, settings.worker_id, now)
                pipe.set(f"{keys.prefix}:hb:{settings.worker_id}", now, ex=settings.heartbeat_ttl_s)
                await pipe.execute()
        except Exception as e:  # noqa: BLE001 - a missed beat must never stop the worker
            log.warning("heartbeat failed: %s", e)

    @app.timer(interval=AGENT_SAMPLE_S, name="agent-sampler")
    async def sample_agents() -> None:
        """Agents by state over time: the current counts of every tenant, once a minute.

        Several workers write the same minute with the same counts (the latest state by event
        time), so the sample is idempotent.
        """
        try:
            r, now = processor().writer.redis, wall_ms()
            await write_agent_samples(r, keys, now)
            await prune_waiting(r, keys, now)
        except Exception as e:  # noqa: BLE001 - a missed sample must never stop the worker
            log.warning("housekeeping failed: %s", e)

    if settings.alerts_rules is not None:
        from stream.alerts.runner import install_alerts  # optional part, loaded when configured

        install_alerts(app, settings, keys)

    app.callpulse_processor = processor  # type: ignore[attr-defined]  # for tests and metrics
    return app
