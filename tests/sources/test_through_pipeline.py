"""The adapters through the real pipeline (Tansu -> Faust worker -> Redis), read back as KPIs.

Acceptance of issue 5: deterministic event ids (a second import, a replay after a crash, a
re-sent HTTP batch count nothing twice); the hand-written queue_log gives exactly the
hand-computed KPIs, also when followed through rotation, truncation and a restart; the CDR sample
gives the KPIs of a direct pandas computation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from sources.cdr import import_cdr
from sources.cdr_mapping import load_mapping
from sources.common import KafkaSink, Sink, Summary
from sources.follow import Follower, import_files
from sources.ingest import create_app
from sources.queue_log import QueueLogMapper
from sources.settings import IngestTokens
from stream.publish import EventPublisher
from tests.pipeline import Pipeline
from tests.sources.cdr_reference import reference_kpis
from tests.sources.helpers import AppClient, read_topic

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
HAND = DATA / "queue_log_all_events"
LINES = HAND.read_bytes().splitlines(keepends=True)
ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "sources" / "samples" / "cdr-sample.csv"
MAPPING = ROOT / "config" / "cdr-mapping.example.yaml"
T0 = 1795338000_000  # 2026-11-22 09:00 UTC

#: Worked out by hand from the file (docs/sources.md walks through it):
#: answered waits 12, 20, 5, 30, 2 s; talks 200, 95, 60, 120, 45 s; abandoned after 8 s;
#: overflowed after 300 (timeout), 3 (empty), 40 s (key).
HAND_TOTALS = {
    "offered": 9,
    "answered": 5,
    "abandoned": 1,
    "short_abandoned": 0,
    "overflowed": 3,
    "closed": 9,
    "ended": 5,
    "wrapups": 0,
    "talk_ms": 520_000,
    "hold_ms": 0,
    "wait_ms_answered": 69_000,
    "wait_ms_abandoned": 8_000,
    "wait_ms_overflowed": 343_000,
    "max_wait_ms": 300_000,
    "answered_within_15": 3,
    "abandoned_within_15": 1,
}
HAND_KPIS = {
    "answer_rate": 5 / 9,
    "abandon_rate": 1 / 9,
    "service_level": 3 / 9,  # negative formula (default): answered within 15 s / closed
    "asa_s": 13.8,
    "max_wait_s": 300.0,
    "aht_s": 104.0,  # (520 s talk + 0 hold + 0 acw) / 5 ended
}


def through(pipeline: Pipeline, work: Callable[[Sink], Awaitable[Any]]) -> Any:
    """Run an adapter against the pipeline's topics, then wait until the worker has it all."""

    async def go() -> tuple[Any, dict[int, int]]:
        async with KafkaSink(pipeline.broker, pipeline.topic, pipeline.dlq_topic) as sink:
            result = await work(sink)
            return result, dict(sink.events.last_offsets)

    result, offsets = asyncio.run(go())
    pipeline.wait_caught_up(offsets)
    return result


def assert_hand_kpis(pipeline: Pipeline, tenant: str) -> None:
    tot = pipeline.totals(tenant)
    assert {k: tot.get(k, 0) for k in HAND_TOTALS} == HAND_TOTALS
    for k, v in HAND_KPIS.items():
        assert tot[k] == pytest.approx(v), k
    sales, support = pipeline.totals(tenant, "sales"), pipeline.totals(tenant, "support")
    assert (sales["offered"], sales["answered"], sales["abandoned"], sales["overflowed"]) == (4, 3, 1, 0)
    assert (support["offered"], support["answered"], support["abandoned"], support["overflowed"]) == (
        5,
        2,
        0,
        3,
    )
    rows = pipeline.intervals(tenant, "support", T0, T0 + 1_800_000)
    assert [(r["start_ms"] - T0, r["counts"]["offered"]) for r in rows] == [(0, 4), (900_000, 1)]
    waiting = pipeline.reader.waiting(tenant, T0 + 3_600_000)
    assert all(count == 0 for count, _ in waiting.values())  # every offered call left its queue
    states = {a.agent_id: (a.state, a.reason) for a in pipeline.reader.agents(tenant)}
    assert states == {
        "SIP/101": ("logged_out", None),
        "SIP/102": ("available", None),
        "SIP/103": ("available", None),
        "SIP/104": ("available", None),
        "Agent/201": ("logged_out", None),
    }


def test_queue_log_import_hand_kpis_and_second_import_counts_nothing(pipeline: Pipeline, unique: str) -> None:
    tenant = f"ql{unique}"

    def work(sink: Sink) -> Awaitable[Summary]:
        return import_files([HAND], QueueLogMapper(tenant), sink)

    summary = through(pipeline, work)
    assert summary.dead_lettered.total() == 3
    assert_hand_kpis(pipeline, tenant)
    through(pipeline, work)  # the same file again: same event ids
    assert_hand_kpis(pipeline, tenant)

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        return [r for r in records if isinstance(r, dict) and r.get("tenant") == tenant and r.get("source")]

    records = ours(
        asyncio.run(read_topic(pipeline.broker, pipeline.dlq_topic, lambda rs: len(ours(rs)) >= 6))
    )
    assert sorted((r["line"], r["reason"]) for r in records) == [
        (31, "too_few_fields"),
        (31, "too_few_fields"),
        (33, "bad_timestamp"),
        (33, "bad_timestamp"),
        (34, "bad_number"),
        (34, "bad_number"),
    ]


class CrashOnce:
    """Publishes through the real sink, then fails once before the follower saves its checkpoint."""

    def __init__(self, inner: Sink, after: int) -> None:
        self.inner = inner
        self.after = after
        self.calls = 0

    async def publish(self, events: list[dict[str, Any]]) -> None:
        await self.inner.publish(events)
        self.calls += 1
        if self.calls == self.after:
            raise ConnectionError("killed after publishing, before the checkpoint")

    async def dead_letter(self, records: list[dict[str, Any]]) -> None:
        await self.inner.dead_letter(records)


def test_queue_log_follow_rotation_truncation_crash_and_restart(
    pipeline: Pipeline, unique: str, tmp_path: Path
) -> None:
    tenant = f"qf{unique}"
    log, ckpt = tmp_path / "queue_log", tmp_path / "queue_log.checkpoint"

    def append(lines: list[bytes], path: Path = log) -> None:
        with path.open("ab") as fh:
            fh.write(b"".join(lines))

    async def work(sink: Sink) -> None:
        a = Follower(log, ckpt, QueueLogMapper(tenant), CrashOnce(sink, after=3), chunk_bytes=512)
        append(LINES[:10])
        await a.poll()
        append(LINES[10:14])
        log.rename(tmp_path / "queue_log.1")  # rotation
        append(LINES[14:16], tmp_path / "queue_log.1")
        append(LINES[16:22])
        with pytest.raises(ConnectionError):
            await a.poll()  # dies in the middle, after publishing a chunk it never checkpointed
        a.close()
        append(LINES[22:26])
        b = Follower(log, ckpt, QueueLogMapper(tenant), sink, chunk_bytes=512)  # restart
        await b.poll()
        (tmp_path / "queue_log.2").write_bytes(log.read_bytes())
        with log.open("r+b") as fh:  # copytruncate
            fh.truncate(0)
        append(LINES[26:])
        await b.poll()
        b.close()
        assert b.truncations == 1

    through(pipeline, work)
    assert_hand_kpis(pipeline, tenant)


def test_cdr_sample_equals_pandas_and_second_import_counts_nothing(pipeline: Pipeline, unique: str) -> None:
    tenant = f"cdr{unique}"
    mapping = load_mapping(MAPPING, tenant=tenant)

    def work(sink: Sink) -> Awaitable[Summary]:
        return import_cdr([SAMPLE], mapping, sink)

    want = reference_kpis(str(SAMPLE))
    window = (want["first_ms"] - 86_400_000, want["last_ms"] + 86_400_000)
    for _ in range(2):  # the second import must change nothing
        through(pipeline, work)
        tot = pipeline.totals(tenant, None, *window)
        for key in (
            "offered",
            "answered",
            "abandoned",
            "overflowed",
            "talk_ms",
            "hold_ms",
            "acw_ms",
            "wait_ms_answered",
            "answered_within_15",
            "max_wait_ms",
        ):
            assert tot.get(key, 0) == want[key], key
        answered, closed = want["answered"], want["answered"] + want["abandoned"] + want["overflowed"]
        assert tot["answer_rate"] == pytest.approx(answered / closed)
        assert tot["asa_s"] == pytest.approx(want["wait_ms_answered"] / answered / 1000)
        assert tot["aht_s"] == pytest.approx(
            (want["talk_ms"] + want["hold_ms"] + want["acw_ms"]) / answered / 1000
        )


def test_http_ingest_resend_counts_once(pipeline: Pipeline, unique: str) -> None:
    tenant = f"http{unique}"
    token = f"{tenant}-secret-token-0001"
    publishers: list[EventPublisher] = []

    def factory() -> EventPublisher:
        publishers.append(EventPublisher(pipeline.broker, pipeline.topic))
        return publishers[-1]

    events = [
        {
            "event_id": f"h{i}",
            "type": t,
            "ts": T0 + i * 1000,
            "call_id": f"c{i // 2}",
            "queue": "web",
            **extra,
        }
        for i, (t, extra) in enumerate(
            [("call_offered", {}), ("call_answered", {"agent_id": "a1", "wait_s": 4})] * 3
        )
    ]
    app = create_app(IngestTokens.parse(f"{tenant}={token}"), factory, max_bytes=1 << 20)
    with AppClient(app) as client:
        for _ in range(2):  # a client that did not see the first 202 sends again
            r = client.post(
                "/events",
                content=orjson.dumps(events),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            assert r.status_code == 202
    pipeline.wait_caught_up(publishers[0].last_offsets)
    tot = pipeline.totals(tenant)
    assert (tot["offered"], tot["answered"], tot["wait_ms_answered"]) == (3, 3, 12_000)
