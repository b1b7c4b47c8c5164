"""Acceptance: invalid input goes to the dead-letter topic with its reason, is counted per reason
(once, even when redelivered), and the valid events around it are counted correctly."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.pipeline import Pipeline

T0 = 1_795_310_100_000


async def read_topic(broker_port: int, topic: str, n: int, timeout: float = 30.0) -> list[dict]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=f"127.0.0.1:{broker_port}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < n:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    out += [orjson.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return out


@pytest.mark.slow
def test_invalid_events_are_dead_lettered_counted_and_do_not_disturb(make_pipeline) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = make_pipeline()

    def ok(i: int, **kw: object) -> dict:
        return {
            "event_id": f"ok{i}",
            "type": "call_offered",
            "ts": T0 + i,
            "tenant": "dl",
            "call_id": f"c{i}",
            "queue": "q",
            **kw,
        }

    bad_values = [
        (b"{not json", "invalid_json"),
        (b"42", "not_an_object"),
        (orjson.dumps({"event_id": "b1", "type": "call_parked", "ts": T0}), "unknown_type"),
        (orjson.dumps({"event_id": "b2", "type": "call_offered", "ts": T0, "queue": "q"}), "missing_field"),
        (orjson.dumps({**ok(90), "ts": "2026-11-22 09:00"}), "bad_timestamp"),
        (
            orjson.dumps(
                {
                    "event_id": "b3",
                    "type": "call_answered",
                    "ts": T0,
                    "call_id": "c",
                    "queue": "q",
                    "agent_id": "a",
                    "wait_s": -4,
                }
            ),
            "bad_duration",
        ),
        (
            orjson.dumps(
                {"event_id": "b4", "type": "agent_state", "ts": T0, "agent_id": "a", "state": "asleep"}
            ),
            "bad_state",
        ),
        (orjson.dumps({**ok(91), "queue": ["q"]}), "bad_field"),
        (orjson.dumps({**ok(92), "tenant": "no spaces"}), "bad_tenant"),
    ]
    # A batch message mixing good and bad events: only the bad one is rejected.
    mixed = orjson.dumps([ok(50), {"event_id": "b5", "type": "call_offered", "ts": T0}, ok(51)])
    p.publish([ok(i) for i in range(10)])
    p.publish_raw([v for v, _ in bad_values] + [mixed])
    p.publish([ok(i) for i in range(10, 20)])
    p.wait_caught_up()

    tot = p.totals("dl")
    assert tot["offered"] == 22  # ok0..ok19 + ok50 + ok51

    dl = p.deadletter()
    expected: dict[str, int] = {}
    for _, reason in bad_values:
        expected[reason] = expected.get(reason, 0) + 1
    expected["missing_field"] += 1  # b5 inside the mixed batch
    assert dl["counts"] == expected
    records = asyncio.run(read_topic(p.tansu.port, p.dlq_topic, len(bad_values) + 1))
    assert sorted(r["reason"] for r in records) == sorted(r for r, n in expected.items() for _ in range(n))
    by_reason = {r["reason"]: r for r in records}
    assert by_reason["invalid_json"]["raw"] == "{not json"
    assert by_reason["bad_duration"]["detail"].startswith("wait_s must be")
    assert all(r["topic"] == p.topic and r["offset"] >= 0 for r in records)
    mixed_rec = [r for r in records if r["raw"].startswith('{"event_id":"b5"')]
    assert len(mixed_rec) == 1 and mixed_rec[0]["index"] == 1
    # The dashboard's recent list holds them too, newest first.
    assert len(dl["recent"]) == len(records)

    # A worker restart re-reads uncommitted messages: counts stay the same.
    p.workers[0].kill()
    p.start_worker()
    p.publish([ok(100)])
    p.wait_caught_up()
    assert p.deadletter()["counts"] == expected
    assert p.totals("dl")["offered"] == 23
