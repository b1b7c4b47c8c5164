"""queue_log parsing and mapping: every Asterisk event of the hand-written file, checked by hand."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sources.common import MemorySink, SourceError
from sources.follow import import_files
from sources.queue_log import QueueLogMapper, parse_line
from stream.events import parse_event

DATA = Path(__file__).parent / "data"
HAND = DATA / "queue_log_all_events"
T0 = 1795338000_000  # 2026-11-22 09:00:00 UTC, epoch ms


def _run(paths: list[Path], tenant: str = "acme") -> tuple[MemorySink, object]:
    import asyncio

    sink = MemorySink()
    summary = asyncio.run(import_files(paths, QueueLogMapper(tenant), sink, clock=lambda: 1800000000.0))
    return sink, summary


def test_parse_line_fields() -> None:
    line = parse_line("1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000")
    assert line.ts_ms == 1366720340_000
    assert (line.call_id, line.queue, line.agent, line.event, line.data) == (
        "1366720340.303267",
        "MYQUEUE",
        "SIP/8007",
        "RINGNOANSWER",
        ("1000",),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("nonsense", "too_few_fields"),
        ("abc|1.1|q|NONE|ENTERQUEUE||1|1", "bad_timestamp"),
        ("99|1.1|q|NONE|ENTERQUEUE||1|1", "bad_timestamp"),
        ("1795338000|1.1|q|NONE||x", "missing_field"),
        ("1795338000|1.1|q|a\x07|CONNECT|1|x|1", "not_text"),
    ],
)
def test_parse_line_rejects(text: str, reason: str) -> None:
    with pytest.raises(SourceError) as info:
        parse_line(text)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1795338000|1.1|q|SIP/1|CONNECT|abc|x|1", "bad_number"),
        ("1795338000|1.1|q|SIP/1|CONNECT|-3|x|1", "bad_duration"),
        ("1795338000|1.1|q|SIP/1|CONNECT|", "missing_field"),
        ("1795338000|1.1|q|NONE|CONNECT|3|x|1", "missing_field"),
        ("1795338000|NONE|q|NONE|ENTERQUEUE||1|1", "missing_field"),
        ("1795338000|1.1|q|NONE|ABANDON|1|1|90000", "bad_duration"),
        ("1795338000|1.1|q|SIP/1|COMPLETECALLER|1|x|1", "bad_number"),
        ("1795338000|1.1|q|NONE|EXITWITHKEY|1|2", "missing_field"),
    ],
)
def test_map_line_rejects(text: str, reason: str) -> None:
    with pytest.raises(SourceError) as info:
        QueueLogMapper("acme").map_line(parse_line(text), text)
    assert info.value.reason == reason


def test_hand_file_events_by_type_and_every_event_valid() -> None:
    sink, summary = _run([HAND])
    for ev in sink.events:
        parse_event(ev)  # the v1 contract
        assert ev["tenant"] == "acme"
    types = Counter(ev["type"] for ev in sink.events)
    assert types["call_offered"] == 9
    assert types["call_answered"] == 5
    assert types["call_abandoned"] == 1
    assert types["call_overflowed"] == 3
    assert types["call_ended"] == 5
    assert "wrapup_ended" not in types  # queue_log has no wrap-up record
    # three bad lines: reported with line number and reason, imports went on
    assert sorted((d["line"], d["reason"]) for d in sink.dead) == [
        (31, "too_few_fields"),
        (33, "bad_timestamp"),
        (34, "bad_number"),
    ]
    assert all(d["source"] == "queue_log" and d["raw"] for d in sink.dead)
    assert summary.read == 43 and summary.dead_lettered["bad_number"] == 1
    assert summary.ignored == Counter({"QUEUESTART": 1, "CONFIGRELOAD": 1, "RINGNOANSWER": 1, "DID": 1})


def test_hand_file_field_mapping() -> None:
    sink, _ = _run([HAND])
    by = {(ev["call_id"], ev["type"]): ev for ev in sink.events if "call_id" in ev}
    offered = by[("1795338009.1", "call_offered")]
    assert offered["ts"] == T0 + 10_000 and offered["queue"] == "sales" and offered["caller"] == "13800000001"
    assert "caller" not in by[("1795338090.6", "call_offered")]  # "unknown" caller id dropped
    answered = by[("1795338009.1", "call_answered")]
    assert (answered["ts"], answered["agent_id"], answered["wait_s"]) == (T0 + 22_000, "SIP/101", 12)
    ended = by[("1795338009.1", "call_ended")]
    assert (ended["ts"], ended["talk_s"], "hold_s" in ended) == (T0 + 222_000, 200, False)
    assert by[("1795338240.7", "call_ended")]["talk_s"] == 60  # TRANSFER data4
    assert by[("1795338400.8", "call_ended")]["talk_s"] == 120  # ATTENDEDTRANSFER data4
    assert by[("1795339000.10", "call_ended")]["talk_s"] == 45  # BLINDTRANSFER data4
    assert by[("1795338060.3", "call_abandoned")]["wait_s"] == 8
    assert by[("1795338070.4", "call_overflowed")]["wait_s"] == 300  # EXITWITHTIMEOUT data3
    assert by[("1795338080.5", "call_overflowed")]["wait_s"] == 3  # EXITEMPTY data3
    assert by[("1795338090.6", "call_overflowed")]["wait_s"] == 40  # EXITWITHKEY data4


def test_hand_file_agent_states() -> None:
    sink, _ = _run([HAND])
    states: dict[str, list[tuple[int, str, str | None]]] = {}
    for ev in sink.events:
        if ev["type"] == "agent_state":
            states.setdefault(ev["agent_id"], []).append(
                ((ev["ts"] - T0) // 1000, ev["state"], ev.get("reason"))
            )
    assert states["SIP/101"] == [
        (1, "available", None),
        (22, "on_call", None),
        (222, "available", None),
        (1100, "logged_out", None),
    ]
    assert states["SIP/102"] == [
        (2, "available", None),
        (245, "on_call", None),
        (305, "available", None),
        (310, "aux", "lunch"),
        (700, "available", None),
    ]
    # PAUSEALL and the per-queue PAUSE that follows it: one change; same for UNPAUSEALL
    assert states["SIP/103"] == [
        (3, "available", None),
        (50, "on_call", None),
        (145, "available", None),
        (320, "aux", None),
        (710, "available", None),
    ]
    assert states["Agent/201"] == [(5, "available", None), (1110, "logged_out", None)]


def test_event_ids_deterministic_and_unique() -> None:
    a, _ = _run([HAND])
    b, _ = _run([HAND])
    ids = [ev["event_id"] for ev in a.events]
    assert ids == [ev["event_id"] for ev in b.events]
    assert len(set(ids)) == len(ids)
    other, _ = _run([HAND], tenant="beta")
    assert not set(ids) & {ev["event_id"] for ev in other.events}


def test_several_files_in_order_equal_one_file(tmp_path: Path) -> None:
    lines = HAND.read_bytes().splitlines(keepends=True)
    (tmp_path / "queue_log.1").write_bytes(b"".join(lines[:20]))
    (tmp_path / "queue_log").write_bytes(b"".join(lines[20:]))
    split, _ = _run([tmp_path / "queue_log.1", tmp_path / "queue_log"])
    whole, _ = _run([HAND])
    assert split.events == whole.events


def test_gzip_rotated_file(tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "queue_log.1.gz"
    gz.write_bytes(gzip.compress(HAND.read_bytes()))
    a, _ = _run([gz])
    b, _ = _run([HAND])
    assert a.events == b.events
