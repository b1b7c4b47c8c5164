"""The shared pipeline fixture works: events in, KPIs out, through Tansu, Faust and Redis."""

from tests.pipeline import Pipeline

T0 = 1_795_310_100_000  # 2026-11-22T01:15:00Z, an interval boundary


def test_feed_and_read(pipeline: Pipeline, unique: str) -> None:
    tenant = f"t{unique}"
    pipeline.feed(
        [
            {
                "event_id": "o1",
                "type": "call_offered",
                "ts": T0,
                "tenant": tenant,
                "call_id": "c1",
                "queue": "q",
            },
            {
                "event_id": "a1",
                "type": "call_answered",
                "ts": T0 + 5000,
                "tenant": tenant,
                "call_id": "c1",
                "queue": "q",
                "agent_id": "a",
                "wait_s": 5,
            },
        ]
    )
    tot = pipeline.totals(tenant)
    assert (tot["offered"], tot["answered"], tot["service_level"]) == (1, 1, 1.0)
    rows = pipeline.intervals(tenant, "q", T0, T0 + 900_000)
    assert [r["start_ms"] for r in rows] == [T0]
