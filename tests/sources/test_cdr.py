"""CDR import: mapping checks, every messy-row rule, and agreement with a direct pandas computation."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from sources.cdr import import_cdr
from sources.cdr_mapping import load_mapping, parse_mapping
from sources.common import MemorySink, Summary
from stream.errors import ConfigError
from stream.events import parse_event
from tests.sources.cdr_reference import reference_kpis

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "sources" / "samples" / "cdr-sample.csv"
MAPPING = ROOT / "config" / "cdr-mapping.example.yaml"


def run(tenant: str = "acme", path: Path = SAMPLE) -> tuple[MemorySink, Summary]:
    sink = MemorySink()
    summary = asyncio.run(import_cdr([path], load_mapping(MAPPING, tenant=tenant), sink, clock=lambda: 0.0))
    return sink, summary


def fold(events: list[dict[str, Any]]) -> dict[str, int]:
    """The sums a KPI fold would make, counting each event_id once (as the worker dedupes)."""
    seen: dict[str, dict[str, Any]] = {}
    for ev in events:
        seen.setdefault(ev["event_id"], ev)
    out: Counter[str] = Counter()
    for ev in seen.values():
        e = parse_event(ev)
        if e.type == "call_offered":
            out["offered"] += 1
        elif e.type == "call_answered":
            out["answered"] += 1
            out["wait_ms_answered"] += e.wait_ms or 0
            out["answered_within_15"] += (e.wait_ms or 0) <= 15_000
        elif e.type == "call_abandoned":
            out["abandoned"] += 1
        elif e.type == "call_overflowed":
            out["overflowed"] += 1
        elif e.type == "call_ended":
            out["talk_ms"] += e.talk_ms or 0
            out["hold_ms"] += e.hold_ms
        elif e.type == "wrapup_ended":
            out["acw_ms"] += e.acw_ms or 0
        if e.wait_ms is not None:
            out["max_wait_ms"] = max(out["max_wait_ms"], e.wait_ms)
    return dict(out)


def test_sample_summary_by_reason() -> None:
    sink, s = run()
    assert s.read == 21
    assert s.imported == 13  # C1002 is exported twice: imported twice, same event ids
    assert s.skipped == Counter({"not_queued": 1, "call_type": 1, "outcome_skip": 1})
    assert s.dead_lettered == Counter(
        {"negative_duration": 1, "missing_time": 1, "unknown_outcome": 1, "bad_timestamp": 1, "time_order": 1}
    )
    assert s.repaired["next_day"] == 1
    assert s.repaired["talk_from_times"] == 1
    assert s.repaired["fallback:queue_entry<-ivr_exit"] == 2
    assert s.repaired["fallback:queue_exit<-service_start"] == 2  # C1005, C1006
    assert s.repaired["row_out_of_order"] == 5  # C1016, C1017 and the three rows after 23:58 (C1018)
    dead = {d["raw"].split(",")[0]: (d["line"], d["reason"]) for d in sink.dead}
    assert dead == {
        "C1008": (9, "negative_duration"),
        "C1009": (10, "missing_time"),
        "C1013": (14, "unknown_outcome"),
        "C1014": (15, "bad_timestamp"),
        "C1015": (16, "time_order"),
    }
    assert "Summary" not in s.render()  # renders without error
    assert "dead-lettered: 5" in s.render()


def test_events_valid_sorted_and_deterministic() -> None:
    a, _ = run()
    b, _ = run()
    assert [e["event_id"] for e in a.events] == [e["event_id"] for e in b.events]
    assert [e["ts"] for e in a.events] == sorted(e["ts"] for e in a.events)
    for ev in a.events:
        parse_event(ev)
    ids = [e["event_id"] for e in a.events]
    assert len(ids) - len(set(ids)) == 4  # only the duplicated row C1002 repeats ids


def test_call_sequences() -> None:
    sink, _ = run()
    calls: dict[str, list[dict[str, Any]]] = {}
    for ev in sink.events:
        calls.setdefault(ev["call_id"], []).append(ev)
    seq = {cid: [e["type"] for e in evs] for cid, evs in calls.items()}
    assert seq["C1001"] == ["call_offered", "call_answered", "call_ended", "wrapup_ended"]
    assert seq["C1003"] == ["call_offered", "call_abandoned"]
    assert seq["C1004"] == ["call_offered", "call_overflowed"]
    assert seq["C1019"] == ["call_offered", "call_answered", "call_ended"]  # no acw column value
    ivr = {e["type"]: e for e in calls["C1005"]}  # answered straight from the IVR
    assert ivr["call_answered"]["wait_s"] == 0 and ivr["call_offered"]["ts"] == ivr["call_answered"]["ts"]
    late = {e["type"]: e for e in calls["C1018"]}  # ends after midnight
    assert late["call_ended"]["ts"] - late["call_answered"]["ts"] == 300_000
    assert {e["type"]: e for e in calls["C1007"]}["call_ended"]["talk_s"] == 300  # -5 -> from times
    c1 = {e["type"]: e for e in calls["C1001"]}
    assert c1["call_offered"]["ts"] == 1795309205_000  # 09:00:05 in Asia/Shanghai = 01:00:05 UTC
    assert (c1["call_answered"]["wait_s"], c1["call_ended"]["talk_s"], c1["call_ended"]["hold_s"]) == (
        12,
        240,
        20,
    )
    assert c1["wrapup_ended"]["acw_s"] == 30 and c1["call_offered"]["caller"] == "13800000001"


def test_importer_equals_direct_pandas_computation() -> None:
    sink, _ = run()
    want = reference_kpis(str(SAMPLE))
    got = fold(sink.events)
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
        assert got[key] == want[key], key
    # and both equal the hand count of docs/sources.md's sample walk-through
    assert (want["offered"], want["answered"], want["abandoned"], want["overflowed"]) == (12, 8, 2, 2)
    assert (want["talk_ms"], want["hold_ms"], want["acw_ms"], want["wait_ms_answered"]) == (
        1_440_000,
        35_000,
        125_000,
        137_000,
    )


def _doc() -> dict[str, Any]:
    return yaml.safe_load(MAPPING.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(tenant="bad tenant"), "tenant"),
        (lambda d: d.update(time_zone="Mars/Olympus"), "time_zone"),
        (lambda d: d["csv"].update(delimiter=";;"), "csv.delimiter"),
        (lambda d: d["columns"].pop("queue"), "columns.queue"),
        (lambda d: d["columns"].update(colour="x"), "columns"),
        (lambda d: d["times"].pop("queue_entry"), "times.queue_entry"),
        (lambda d: d["times"]["queue_exit"].update(fallback=["nowhere"]), "fallback"),
        (lambda d: d["times"].update(queue_exit={"column": "a", "epoch": "b"}), "times.queue_exit"),
        (lambda d: d["durations"].update(talk_s={"column": "T", "unit": "minutes"}), "unit"),
        (lambda d: d["outcomes"].update(skip=["ANSWERED"]), "outcomes.skip"),
        (lambda d: d["outcomes"].update(answered=[]), "outcomes.answered"),
    ],
)
def test_mapping_errors_name_the_key(change: Any, message: str) -> None:
    doc = _doc()
    change(doc)
    with pytest.raises(ConfigError, match=message):
        parse_mapping(doc)


def test_missing_column_in_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("CallID,Skill\n1,a\n")
    with pytest.raises(ConfigError, match="not in the header"):
        run(path=bad)


def test_epoch_and_one_column_times_and_ms_durations(tmp_path: Path) -> None:
    doc = {
        "tenant": "t1",
        "columns": {"queue": "q", "outcome": "o", "agent_id": "a"},
        "times": {"queue_entry": {"epoch": "in"}, "queue_exit": {"column": "out"}},
        "durations": {"talk_s": {"column": "talk", "unit": "ms"}, "acw_s": {"column": "acw", "unit": "hms"}},
        "outcomes": {"answered": ["ok"], "abandoned": ["gone"]},
    }
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "c.csv").write_text(
        "q;o;a;in;out;talk;acw\n"
        "sales;OK;a1;1795338000;2026-11-22T09:00:07+00:00;65000;00:01:05\n"
        "sales;gone;;1795338000.5;2026-11-22 09:00:09;;\n"
    )
    doc["csv"] = {"delimiter": ";"}
    mapping = parse_mapping(doc)
    sink = MemorySink()
    summary = asyncio.run(import_cdr([tmp_path / "c.csv"], mapping, sink))
    assert summary.imported == 2, summary.as_dict()
    by = {(e["call_id"], e["type"]): e for e in sink.events}
    kinds = Counter(e["type"] for e in sink.events)
    assert kinds == Counter(
        {"call_offered": 2, "call_answered": 1, "call_ended": 1, "wrapup_ended": 1, "call_abandoned": 1}
    )
    answered = next(e for e in sink.events if e["type"] == "call_answered")
    assert answered["wait_s"] == 7
    ended = next(e for e in sink.events if e["type"] == "call_ended")
    assert ended["talk_s"] == 65 and ended["ts"] == 1795338007_000 + 65_000
    assert next(e for e in sink.events if e["type"] == "wrapup_ended")["acw_s"] == 65
    assert next(e for e in sink.events if e["type"] == "call_abandoned")["wait_s"] == 8.5
    assert len({cid for cid, _ in by}) == 2  # no call_id column: a hash of each row
