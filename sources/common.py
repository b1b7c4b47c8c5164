"""What every adapter shares: deterministic event ids, dead-letter records, sinks, the summary.

Adapters are pure where they can be (input text -> event dicts + rejections); a :class:`Sink`
moves the result to Kafka (:class:`KafkaSink`) or keeps it for tests and ``--dry-run``
(:class:`MemorySink`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from stream.errors import CallPulseError, InvalidEvent
from stream.events import parse_event
from stream.publish import EventPublisher

#: Events per Kafka message when adapters publish (JSON arrays, see docs/events.md).
PUBLISH_BATCH = 100


class SourceError(CallPulseError):
    """An input record cannot become events. ``reason`` is a stable code, ``detail`` a sentence."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def event_id(source: str, tenant: str, *parts: object) -> str:
    """A deterministic ``event_id``: the same input always gives the same id, so replays dedupe.

    ``parts`` identify the source event (e.g. the queue_log line and which of its events); the id
    is ``{source}-{32 hex}`` (BLAKE2b-128 of the parts), well under the 256-character limit.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in (source, tenant, *parts):
        h.update(str(part).encode())
        h.update(b"\x1f")
    return f"{source}-{h.hexdigest()}"


def check_event(event: Mapping[str, Any]) -> None:
    """Validate an adapter's output against the v1 contract; raise :class:`SourceError`."""
    try:
        parse_event(dict(event))
    except InvalidEvent as e:
        raise SourceError(e.reason, e.detail) from e


def dead_letter_record(
    source: str,
    *,
    reason: str,
    detail: str,
    raw: str,
    rejected_at_ms: int,
    line: int | None = None,
    file: str | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """The JSON record an adapter sends to the dead-letter topic (cf. docs/events.md)."""
    record: dict[str, Any] = {
        "source": source,
        "reason": reason,
        "detail": detail,
        "raw": raw,
        "rejected_at_ms": rejected_at_ms,
    }
    if line is not None:
        record["line"] = line
    if file is not None:
        record["file"] = file
    if tenant is not None:
        record["tenant"] = tenant
    return record


@dataclass
class Summary:
    """What an import did: records read, imported, skipped and dead-lettered by reason."""

    read: int = 0
    imported: int = 0
    events: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)

    def reject(
        self,
        dead: list[dict[str, Any]],
        source: str,
        err: SourceError,
        raw: str,
        now_ms: int,
        *,
        line: int,
        file: str,
        tenant: str,
        log: logging.Logger,
    ) -> None:
        """Log, count and keep one rejected input line: the adapters' shared dead-letter step."""
        log.warning("%s:%d: %s: %s", file, line, err.reason, err.detail)
        self.dead_lettered[err.reason] += 1
        dead.append(
            dead_letter_record(
                source,
                reason=err.reason,
                detail=err.detail,
                raw=raw,
                rejected_at_ms=now_ms,
                line=line,
                file=file,
                tenant=tenant,
            )
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "imported": self.imported,
            "events": self.events,
            "skipped": dict(sorted(self.skipped.items())),
            "dead_lettered": dict(sorted(self.dead_lettered.items())),
            "repaired": dict(sorted(self.repaired.items())),
            "ignored": dict(sorted(self.ignored.items())),
        }

    def render(self, unit: str = "rows") -> str:
        """A short human report for the end of an import."""
        lines = [
            f"{unit} read: {self.read}, imported: {self.imported}, events: {self.events}",
        ]
        for title, counts in (
            ("skipped", self.skipped),
            ("dead-lettered", self.dead_lettered),
            ("repaired", self.repaired),
            ("ignored", self.ignored),
        ):
            total = sum(counts.values())
            detail = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
            lines.append(f"{title}: {total}" + (f" ({detail})" if detail else ""))
        return "\n".join(lines)


class Sink(Protocol):
    """Where adapters put their output. ``publish`` returns once the events are durable."""

    async def publish(self, events: list[dict[str, Any]]) -> None: ...

    async def dead_letter(self, records: list[dict[str, Any]]) -> None: ...


class MemorySink:
    """Keeps everything in lists (tests, ``--dry-run``)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.dead: list[dict[str, Any]] = []

    async def publish(self, events: list[dict[str, Any]]) -> None:
        self.events.extend(events)

    async def dead_letter(self, records: list[dict[str, Any]]) -> None:
        self.dead.extend(records)


class KafkaSink:
    """Events to the events topic, rejections to the dead-letter topic; both awaited to the ack.

    Use as ``async with KafkaSink(broker, topic, dlq_topic) as sink``.
    """

    def __init__(self, broker: str, topic: str, deadletter_topic: str, *, batch: int = PUBLISH_BATCH) -> None:
        self.events = EventPublisher(broker, topic)
        self.dlq = EventPublisher(broker, deadletter_topic)
        self.batch = batch

    async def __aenter__(self) -> KafkaSink:
        await self.events.__aenter__()
        try:
            await self.dlq.__aenter__()
        except BaseException:
            await self.events.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.dlq.__aexit__(*exc)
        finally:
            await self.events.__aexit__(*exc)

    async def publish(self, events: list[dict[str, Any]]) -> None:
        if events:
            await self.events.send_many(events, batch=self.batch)

    async def dead_letter(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            await self.dlq.send_raw(orjson.dumps(record), key=str(record.get("source", "")).encode())


def write_ndjson(events: Iterable[Mapping[str, Any]], out: Callable[[str], Any]) -> None:
    """Print events one JSON object per line (``--dry-run``)."""
    for ev in events:
        out(orjson.dumps(ev).decode())
