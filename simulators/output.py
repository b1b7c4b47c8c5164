"""Pacing and sinks: send time-ordered events to Kafka or a JSON Lines file, at ×1, ×N or flat out.

The pacer maps event time to wall time (``wall = wall0 + (ts - ts0) / speed``) and sleeps until
each event is due, flushing what it holds before every sleep, so a live run publishes events as
they happen rather than in delayed batches. ``speed=None`` means as fast as possible. The clock
and the sleep are injected so tests can drive a fake clock.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from stream.publish import EventPublisher

DEFAULT_TOPIC = "callpulse.events"
#: A held batch is flushed when it is this old (wall seconds) even if no sleep comes.
MAX_HOLD_S = 0.1
MAX_BATCH = 2000


class Sink(Protocol):
    async def send(self, events: list[Mapping[str, Any]]) -> None: ...

    async def close(self) -> None: ...


class KafkaSink:
    """Publishes through :class:`stream.publish.EventPublisher` (``batch`` events per message)."""

    def __init__(self, broker: str, topic: str = DEFAULT_TOPIC, *, batch: int = 1) -> None:
        self.publisher = EventPublisher(broker, topic)
        self.batch = batch
        self.started = False

    async def send(self, events: list[Mapping[str, Any]]) -> None:
        if not self.started:
            await self.publisher.__aenter__()
            self.started = True
        await self.publisher.send_many(events, batch=self.batch)

    async def close(self) -> None:
        if self.started:
            await self.publisher.__aexit__(None, None, None)


class JsonlSink:
    """One JSON event per line; ``-`` is standard output. Flushed after every batch."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.fh: IO[bytes] = sys.stdout.buffer if self.path == "-" else open(self.path, "wb")  # noqa: SIM115

    async def send(self, events: list[Mapping[str, Any]]) -> None:
        dumps = orjson.dumps
        self.fh.write(b"".join(dumps(e) + b"\n" for e in events))
        self.fh.flush()

    async def close(self) -> None:
        if self.path != "-":
            self.fh.close()


class ListSink:
    """Collects batches in memory (tests)."""

    def __init__(self) -> None:
        self.batches: list[list[Mapping[str, Any]]] = []

    async def send(self, events: list[Mapping[str, Any]]) -> None:
        self.batches.append(list(events))

    async def close(self) -> None:
        return None


class Progress:
    """A status line on stderr every ``every`` wall seconds: simulated time, events, rate, done."""

    def __init__(
        self,
        tz: ZoneInfo,
        end_ms: float | None = None,
        start_ms: int | None = None,
        *,
        every: float = 2.0,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stats: Mapping[str, int] | None = None,
    ) -> None:
        self.tz, self.end_ms, self.start_ms, self.every = tz, end_ms, start_ms, every
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.stats = stats
        self.t0 = self.last = clock()
        self.count = 0

    def line(self, ts: int) -> str:
        elapsed = max(self.clock() - self.t0, 1e-9)
        when = datetime.fromtimestamp(ts / 1000, self.tz).strftime("%Y-%m-%d %H:%M:%S %z")
        parts = [f"sim {when}", f"{self.count:,} events", f"{self.count / elapsed:,.0f} ev/s"]
        if self.end_ms is not None and self.start_ms is not None and self.end_ms > self.start_ms:
            parts.append(f"{100 * (ts - self.start_ms) / (self.end_ms - self.start_ms):.0f}%")
        if self.stats:
            s = self.stats
            parts.append(
                f"offered {s['offered']:,} answered {s['answered']:,} abandoned {s['abandoned']:,} "
                f"waiting {s['waiting']:,}"
            )
        return " | ".join(parts)

    def tick(self, n: int, ts: int) -> None:
        self.count += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            print(self.line(ts), file=self.stream, flush=True)

    def done(self, ts: int | None) -> None:
        if ts is not None:
            print(self.line(ts) + " | done", file=self.stream, flush=True)


async def pump(
    events: Iterable[Mapping[str, Any]],
    sink: Sink,
    *,
    speed: float | None,
    ts0: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    progress: Progress | None = None,
    max_batch: int = MAX_BATCH,
) -> int:
    """Send ``events`` (``ts`` in epoch ms, in time order) to ``sink``, paced at ``speed``.

    ``ts0`` is the event time that corresponds to "now" (default: the first event's ``ts``).
    Returns the number of events sent.
    """
    batch: list[Mapping[str, Any]] = []
    sent = 0
    held_since = 0.0
    wall0 = clock()
    last_ts: int | None = None

    async def flush() -> None:
        nonlocal batch, sent
        if batch:
            await sink.send(batch)
            sent += len(batch)
            if progress is not None and last_ts is not None:
                progress.tick(len(batch), last_ts)
            batch = []

    for ev in events:
        ts = ev["ts"]
        if speed is not None:
            if ts0 is None:
                ts0 = ts
            now = clock()
            wait = wall0 + (ts - ts0) / 1000 / speed - now
            if wait > 0:
                await flush()
                await sleep(wait)
            elif batch and now - held_since >= MAX_HOLD_S:
                await flush()
        if not batch:
            held_since = clock() if speed is not None else 0.0
        batch.append(ev)
        last_ts = ts
        if len(batch) >= max_batch:
            await flush()
    await flush()
    if progress is not None:
        progress.done(last_ts)
    return sent
