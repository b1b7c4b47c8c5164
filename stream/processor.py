"""The worker's batch step, independent of Faust: raw Kafka messages in, Redis updated.

``decode -> dead-letter the bad -> apply the good (exactly-once in effect) -> done``. The Faust
agent (``stream/app.py``) hands a batch of messages here and acknowledges them only after
:meth:`BatchProcessor.process` returns, so offsets are committed only for events in Redis.
Redis outages are waited out (retry with backoff, never dropping the batch); a worker killed
at any point re-reads uncommitted messages and the event-id dedupe absorbs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

import orjson
import redis.exceptions as rexc

from stream.events import Event, Rejected, decode_message
from stream.store import BatchResult, StoreWriter, dlq_record

log = logging.getLogger(__name__)

#: Redis errors that mean "not now" (restart, AOF loading, failover): wait and retry the batch.
RETRYABLE = (
    rexc.ConnectionError,
    rexc.TimeoutError,
    rexc.BusyLoadingError,
    rexc.TryAgainError,
    rexc.ReadOnlyError,
    rexc.NoScriptError,
    ConnectionResetError,
    OSError,
)


class Message(NamedTuple):
    """What the processor needs of one Kafka record (a tuple: one is made per record)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


DeadLetterSink = Callable[[bytes], Awaitable[None]]
#: Messages decoded between two yields to the event loop (~20 ms of work at 100 events each).
DECODE_SLICE = 40


class BatchProcessor:
    def __init__(
        self,
        writer: StoreWriter,
        dead_letter: DeadLetterSink,
        *,
        max_backoff_s: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.writer = writer
        self.dead_letter = dead_letter
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.retries = 0  # Redis write attempts that failed and were retried (for metrics)

    @staticmethod
    def decode(
        messages: Sequence[Message],
    ) -> tuple[list[Event], list[tuple[str, int, int, Rejected]], dict[tuple[str, int], int]]:
        events: list[Event] = []
        rejected: list[tuple[str, int, int, Rejected]] = []
        offsets: dict[tuple[str, int], int] = {}
        for m in messages:
            tp = (m.topic, m.partition)
            if m.offset + 1 > offsets.get(tp, -1):
                offsets[tp] = m.offset + 1
            if m.value is None:
                rejected.append(
                    (m.topic, m.partition, m.offset, Rejected(0, "invalid_json", "empty message", b""))
                )
                continue
            good, bad = decode_message(m.value)
            events.extend(good)
            rejected.extend((m.topic, m.partition, m.offset, r) for r in bad)
        return events, rejected, offsets

    async def process(self, messages: Sequence[Message]) -> BatchResult:
        events: list[Event] = []
        rejected: list[tuple[str, int, int, Rejected]] = []
        offsets: dict[tuple[str, int], int] = {}
        # Decode in slices and let the event loop breathe in between: a batch of JSON-array
        # messages can hold 100,000+ events, and timers (heartbeat, alerts) must not starve.
        for i in range(0, len(messages), DECODE_SLICE):
            good, bad, offs = self.decode(messages[i : i + DECODE_SLICE])
            events += good
            rejected += bad
            for tp, nxt in offs.items():
                offsets[tp] = max(nxt, offsets.get(tp, -1))
            await asyncio.sleep(0)
        # Dead letters first: if we die after this, the redelivered message is dead-lettered
        # again (a duplicate record in the topic) but counted once; never the other way round.
        for topic, part, offset, rej in rejected:
            record = dlq_record(topic, part, offset, rej, self.writer.clock())
            await self.dead_letter(orjson.dumps(record))
            log.warning(
                "rejected %s:%s@%s[%s]: %s (%s)", topic, part, offset, rej.index, rej.reason, rej.detail
            )
        backoff = 0.05
        while True:
            try:
                return await self.writer.apply(events, offsets=offsets, rejected=rejected)
            except RETRYABLE as e:
                self.retries += 1
                log.warning(
                    "redis unavailable (%s: %s); retrying batch in %.2fs", type(e).__name__, e, backoff
                )
            except rexc.ResponseError as e:  # a bug or a misconfigured Redis: loud, but keep the data
                self.retries += 1
                log.error("redis refused the batch (%s); retrying in %.2fs", e, backoff)
            await self.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
