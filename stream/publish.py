"""Publish canonical events to Kafka: the one producer that simulators, adapters and replay share.

Events are keyed by ``tenant:call_id`` (or ``tenant:agent:agent_id``) so one call's events stay on
one partition in order. ``send_many`` can pack events into JSON-array messages (a batch per
key-partition), which is how high-rate sources cut per-message costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata


def bootstrap_servers(broker: str) -> str:
    """``kafka://host:port[;kafka://host2:port]`` (Faust's form) -> ``host:port,host2:port``."""
    parts = [p.strip() for p in broker.replace(";", ",").split(",") if p.strip()]
    return ",".join(p.split("://", 1)[-1] for p in parts)


def event_key(event: Mapping[str, Any]) -> bytes:
    """The partitioning key of a wire event (see :attr:`stream.events.Event.key`)."""
    tenant = event.get("tenant") or "default"
    call_id = event.get("call_id")
    ident = call_id if call_id is not None else f"agent:{event.get('agent_id')}"
    return f"{tenant}:{ident}".encode()


class EventPublisher:
    """An aiokafka producer for v1 events. Use as ``async with EventPublisher(...) as pub``."""

    def __init__(self, broker: str, topic: str, *, linger_ms: int = 5) -> None:
        self.topic = topic
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker),
            linger_ms=linger_ms,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
            acks="all",
            enable_idempotence=False,  # Tansu has no idempotent producer (PLATFORM-NOTES)
        )
        #: Highest offset written per partition (for "has the worker caught up?").
        self.last_offsets: dict[int, int] = {}

    async def __aenter__(self) -> EventPublisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    def _note(self, meta: RecordMetadata) -> None:
        if meta.offset > self.last_offsets.get(meta.partition, -1):
            self.last_offsets[meta.partition] = meta.offset

    async def send_raw(self, value: bytes, key: bytes | None = None) -> RecordMetadata:
        """Send one message value as it is (used to feed invalid input in tests and replays)."""
        meta = await self.producer.send_and_wait(self.topic, value, key=key)
        self._note(meta)
        return meta

    async def send_many(self, events: Iterable[Mapping[str, Any]], *, batch: int = 1) -> int:
        """Send events, one per message (``batch=1``) or as JSON arrays of up to ``batch`` events.

        Arrays are grouped by message key so a call's events keep their order on its partition.
        Returns the number of messages sent; waits until all are acknowledged.
        """
        futures = []
        if batch <= 1:
            for ev in events:
                futures.append(await self.producer.send(self.topic, orjson.dumps(ev), key=event_key(ev)))
        else:
            groups: dict[bytes, list[Mapping[str, Any]]] = defaultdict(list)
            order: list[bytes] = []
            for ev in events:
                k = event_key(ev)
                if k not in groups:
                    order.append(k)
                groups[k].append(ev)
            # Pack by partition so arrays fill up even when every call has few events.
            partitions = sorted(await self.producer.partitions_for(self.topic))
            by_part: dict[int, list[tuple[bytes, Mapping[str, Any]]]] = defaultdict(list)
            for k in order:
                p = self.producer._partition(self.topic, None, k, None, k, None)  # noqa: SLF001
                by_part[p if p in partitions else partitions[0]].extend((k, e) for e in groups[k])
            for part, items in by_part.items():
                for i in range(0, len(items), batch):
                    chunk = items[i : i + batch]
                    value = orjson.dumps([e for _, e in chunk])
                    futures.append(
                        await self.producer.send(self.topic, value, key=chunk[0][0], partition=part)
                    )
        for fut in futures:
            self._note(await fut)
        return len(futures)
