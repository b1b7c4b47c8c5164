"""The real pipeline for tests: Tansu -> ``python -m stream worker`` -> Redis, fed and read back.

``Pipeline.feed(events)`` publishes with the project's own publisher and blocks until the worker
has stored everything (offsets recorded in Redis); ``intervals``/``totals`` read with the
project's own read layer. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import redis as redis_lib
import yaml

from stream.config import CenterConfig
from stream.embedded import Proc
from stream.keys import Keys
from stream.kpis import Counts, compute, merge
from stream.publish import EventPublisher
from stream.query import KpiReader
from stream.stack import WorkerProc, stack_env, start_worker, wait_caught_up
from stream.topics import ensure_topics

#: Pipelines write to their own Redis database, so tests that flush database 0 never touch them
#: (each pipeline also has its own key prefix and topics).
PIPELINE_DB = 15


class Pipeline:
    def __init__(
        self,
        tansu: Proc,
        redis: Proc,
        *,
        config: Mapping[str, Any] | None = None,
        partitions: int = 4,
        workdir: Path,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.tansu = tansu
        self.redis_proc = redis
        self.token = uuid.uuid4().hex[:8]
        self.topic = f"events-{self.token}"
        self.dlq_topic = f"dlq-{self.token}"
        self.prefix = f"cp{self.token}"
        self.partitions = partitions
        self.broker = f"kafka://127.0.0.1:{tansu.port}"
        self.workdir = workdir
        cfg_path = workdir / f"center-{self.token}.yaml"
        cfg_path.write_text(yaml.safe_dump(dict(config or {})))
        self.center = CenterConfig.load(cfg_path)
        self.keys = Keys(self.prefix)
        self.env = stack_env(
            tansu,
            redis,
            PIPELINE_DB,
            CALLPULSE_CONFIG=str(cfg_path),
            CALLPULSE_EVENTS_TOPIC=self.topic,
            CALLPULSE_DEADLETTER_TOPIC=self.dlq_topic,
            CALLPULSE_KEY_PREFIX=self.prefix,
            CALLPULSE_APP_ID=f"callpulse-{self.token}",
            CALLPULSE_PARTITIONS=str(partitions),
            CALLPULSE_BATCH_WITHIN_S="0.02",
            CALLPULSE_SESSION_TIMEOUT_S="6",
            CALLPULSE_HEARTBEAT_INTERVAL_S="1.5",
            **dict(extra_env or {}),
        )
        self.redis = redis_lib.Redis(host="127.0.0.1", port=redis.port, db=PIPELINE_DB)
        self.reader = KpiReader(self.redis, self.center, self.keys)
        self.workers: list[WorkerProc] = []
        self.last_offsets: dict[int, int] = {}
        asyncio.run(ensure_topics(self.broker, {self.topic: partitions, self.dlq_topic: 1}))

    # -- workers ----------------------------------------------------------------------------------
    def start_worker(self, name: str | None = None) -> WorkerProc:
        w = start_worker(self.env, name or f"w{len(self.workers)}-{self.token}", self.workdir)
        self.workers.append(w)
        return w

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.redis.close()

    # -- feeding ----------------------------------------------------------------------------------
    def _note(self, offsets: Mapping[int, int]) -> None:
        for p, o in offsets.items():
            self.last_offsets[p] = max(o, self.last_offsets.get(p, -1))

    def publish(self, events: Sequence[Mapping[str, Any]], *, batch: int = 1) -> None:
        """Publish without waiting for the worker."""

        async def go() -> dict[int, int]:
            async with EventPublisher(self.broker, self.topic) as pub:
                await pub.send_many(events, batch=batch)
                return pub.last_offsets

        self._note(asyncio.run(go()))

    def publish_raw(self, values: Iterable[bytes]) -> None:
        async def go() -> dict[int, int]:
            async with EventPublisher(self.broker, self.topic) as pub:
                for v in values:
                    await pub.send_raw(v)
                return pub.last_offsets

        self._note(asyncio.run(go()))

    def wait_caught_up(self, offsets: Mapping[int, int] | None = None, timeout: float = 90.0) -> None:
        """Wait until the workers processed everything published (or the given offsets)."""
        if offsets is not None:
            self._note(offsets)
        alive = [w for w in self.workers if w.alive()]
        wait_caught_up(
            self.redis,
            self.keys,
            self.topic,
            self.last_offsets,
            timeout=timeout,
            worker=alive[0] if len(alive) == 1 else None,
        )

    def feed(self, events: Sequence[Mapping[str, Any]], *, batch: int = 1) -> None:
        self.publish(events, batch=batch)
        self.wait_caught_up()

    # -- reading ----------------------------------------------------------------------------------
    def intervals(
        self, tenant: str, queue: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Interval rows per queue (only intervals with data), oldest first."""
        start = start_ms if start_ms is not None else 946_684_800_000
        end = end_ms if end_ms is not None else 4_102_444_800_000
        queues = [queue] if queue else None
        if start_ms is None or end_ms is None:
            return self._scan_intervals(tenant, queues, start, end)
        return self.reader.intervals(tenant, start, end, queues)

    def _scan_intervals(
        self, tenant: str, queues: list[str] | None, start: int, end: int
    ) -> list[dict[str, Any]]:
        # Without a range, find the tenant's interval keys (tests only: SCAN is fine here).
        rows = []
        qs = queues or self.reader.queues(tenant)
        for q in qs:
            pattern = self.keys.interval(tenant, q, 0)[:-1] + "*"
            for key in self.redis.scan_iter(match=pattern.replace("[", "\\["), count=1000):
                s = int(key.decode().rsplit(":", 1)[1])
                if start <= s < end:
                    cfg = self.center.tenant(tenant)
                    e = s + cfg.interval_minutes * 60_000
                    rows.append(self.reader.row(tenant, q, self.counts_of(key), s, e))
        rows.sort(key=lambda r: (r["start_ms"], r["queue"]))
        return rows

    def counts_of(self, key: bytes | str) -> Counts:
        return {k.decode(): int(v) for k, v in self.redis.hgetall(key).items()}  # type: ignore[union-attr]

    def totals(
        self, tenant: str, queue: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> dict[str, Any]:
        """Counters and KPIs summed over all intervals (and queues unless one is given)."""
        acc: Counts = {}
        for row in self.intervals(tenant, queue, start_ms, end_ms):
            acc = merge(acc, row["counts"])
        knobs = self.center.tenant(tenant).knobs(queue)
        return {**compute(acc, knobs), "counts": acc, **acc}

    def deadletter(self) -> dict[str, Any]:
        return self.reader.deadletter(limit=500)
