"""The v1 contract: parse_event, decode_message, and agreement with the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.errors import InvalidEvent
from stream.events import (
    REASONS,
    REQUIRED,
    Event,
    _decode_fast,
    decode_exact,
    decode_message,
    parse_event,
    parse_ts,
    to_wire,
)

SCHEMA = json.loads(Path("stream/schema/event-v1.json").read_text())
BASE = {"event_id": "e1", "ts": "2026-11-22T09:15:02.120+08:00", "tenant": "acme"}
GOOD = {
    "call_offered": {"call_id": "c", "queue": "q", "caller": "138", "priority": 2},
    "call_answered": {"call_id": "c", "queue": "q", "agent_id": "a", "wait_s": 12.5},
    "call_abandoned": {"call_id": "c", "queue": "q", "wait_s": 0},
    "call_overflowed": {"call_id": "c", "queue": "q", "wait_s": 30, "to_queue": "q2"},
    "call_ended": {"call_id": "c", "queue": "q", "agent_id": "a", "talk_s": 200, "hold_s": 15},
    "wrapup_ended": {"call_id": "c", "queue": "q", "agent_id": "a", "acw_s": 30},
    "agent_state": {"agent_id": "a", "state": "aux", "reason": "lunch", "queues": ["q"]},
}


@pytest.mark.parametrize("etype", list(REQUIRED))
def test_every_type_parses_and_matches_schema(etype: str) -> None:
    doc = {**BASE, "type": etype, **GOOD[etype], "unknown_extra": {"kept": True}}
    ev = parse_event(doc)
    assert ev.type == etype and ev.tenant == "acme"
    assert ev.ts_ms == 1_795_310_102_120
    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("etype", list(REQUIRED))
def test_each_required_field_missing_is_rejected_by_both(etype: str) -> None:
    for name in REQUIRED[etype]:
        doc = {**BASE, "type": etype, **GOOD[etype]}
        del doc[name]
        with pytest.raises(InvalidEvent) as e:
            parse_event(doc)
        assert e.value.reason == "missing_field" and name in e.value.detail
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"type": "call_teleported"}, "unknown_type"),
        ({"ts": "2026-11-22T09:15:02"}, "bad_timestamp"),  # no offset: naive times are a bug
        ({"ts": "yesterday"}, "bad_timestamp"),
        ({"ts": 1_795_310_102}, "bad_timestamp"),  # seconds, not ms: before 2000
        ({"ts": True}, "bad_timestamp"),
        ({"wait_s": -1}, "bad_duration"),
        ({"wait_s": "12"}, "bad_duration"),
        ({"wait_s": float("nan")}, "bad_duration"),
        ({"wait_s": 90_000}, "bad_duration"),
        ({"queue": 7}, "bad_field"),
        ({"queue": ""}, "bad_field"),
        ({"tenant": "a{b}"}, "bad_tenant"),
        ({"event_id": None}, "missing_field"),
    ],
)
def test_rejections_have_stable_reasons(patch: dict, reason: str) -> None:
    doc = {**BASE, "type": "call_answered", **GOOD["call_answered"], **patch}
    with pytest.raises(InvalidEvent) as e:
        parse_event(doc)
    assert e.value.reason == reason
    assert reason in REASONS


def test_bad_state_and_not_an_object() -> None:
    with pytest.raises(InvalidEvent) as e:
        parse_event({**BASE, "type": "agent_state", "agent_id": "a", "state": "napping"})
    assert e.value.reason == "bad_state"
    with pytest.raises(InvalidEvent) as e:
        parse_event([1, 2])
    assert e.value.reason == "not_an_object"


def test_tenant_defaults_and_hold_defaults_to_zero() -> None:
    doc = {
        "event_id": "x",
        "type": "call_ended",
        "ts": 1_795_310_102_120,
        "call_id": "c",
        "queue": "q",
        "agent_id": "a",
        "talk_s": 1.0004,
    }
    ev = parse_event(doc)
    assert ev.tenant == "default" and ev.hold_ms == 0 and ev.talk_ms == 1000


def test_timestamps_z_and_offsets_agree() -> None:
    assert parse_ts("2026-11-22T01:15:02.120Z") == parse_ts("2026-11-22T09:15:02.120+08:00")
    assert parse_ts(1_795_310_102_120) == 1_795_310_102_120


def test_decode_message_batches_and_keeps_bad_items_with_their_index() -> None:
    good = {**BASE, "type": "call_offered", **GOOD["call_offered"]}
    raw = orjson.dumps([good, {"type": "nope"}, good])
    events, rejected = decode_message(raw)
    assert len(events) == 2
    assert [(r.index, r.reason) for r in rejected] == [(1, "unknown_type")]
    assert orjson.loads(rejected[0].raw) == {"type": "nope"}
    events, rejected = decode_message(b"\xff\xfe not json")
    assert events == [] and rejected[0].reason == "invalid_json" and rejected[0].raw == b"\xff\xfe not json"


def test_event_key_groups_a_call_and_an_agent() -> None:
    ev = parse_event({**BASE, "type": "call_offered", **GOOD["call_offered"]})
    assert ev.key == b"acme:c"
    ag = parse_event({**BASE, "type": "agent_state", **GOOD["agent_state"]})
    assert ag.key == b"acme:agent:a"


names = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True)
durations = st.integers(min_value=0, max_value=86_400_000).map(lambda ms: ms / 1000)


@st.composite
def events(draw: st.DrawFn) -> Event:
    etype = draw(st.sampled_from(list(REQUIRED)))
    doc = {
        "event_id": draw(names),
        "type": etype,
        "ts": draw(st.integers(946_684_800_000, 4_102_444_799_999)),
        "tenant": draw(names),
    }
    fields = {
        "call_id": names,
        "queue": names,
        "agent_id": names,
        "wait_s": durations,
        "talk_s": durations,
        "acw_s": durations,
        "state": st.sampled_from(["available", "aux", "on_call"]),
    }
    for f in REQUIRED[etype]:
        doc[f] = draw(fields[f])
    return parse_event(doc)


@given(events())
def test_wire_round_trip_is_identity(ev: Event) -> None:
    """encode then decode is identity (like faust's codec tests)."""
    assert parse_event(orjson.loads(orjson.dumps(to_wire(ev)))) == ev
    jsonschema.validate(orjson.loads(orjson.dumps(to_wire(ev))), SCHEMA)


# -- the compiled fast path never disagrees with the exact path ----------------------------------
FIELDS = (
    "event_id",
    "type",
    "ts",
    "tenant",
    "call_id",
    "queue",
    "agent_id",
    "caller",
    "priority",
    "wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "to_queue",
    "state",
    "reason",
    "queues",
    "extra",
)
odd_text = st.text(st.characters(codec="utf-8"), max_size=6) | st.sampled_from(
    ["", " ", "a\nb", "a\x00", "x" * 129, "x" * 257, "acme\n", "{t}", "é", "\u200b", "NaN"]
)
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**31, 2**31 - 1, -(2**31) - 1, 946_684_800_000, 4_102_444_800_000, 86_400]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 86_400.0, 86_400.001, 1e-9, 12.3456789]),
    odd_text,
    st.sampled_from(["2026-11-22T09:15:02+08:00", "2026-11-22", "2026-11-22T09:15", "1999-01-01T00:00Z"]),
    st.sampled_from(list(REQUIRED) + ["available", "aux", "nope"]),
    st.lists(odd_text, max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict:
    """A valid event with a few fields replaced, removed or added: mostly fine, often subtly not."""
    etype = draw(st.sampled_from(list(REQUIRED)))
    doc = {**BASE, "type": etype, **GOOD[etype]}
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()) and name in doc:
            del doc[name]
        else:
            doc[name] = draw(odd_values)
    return doc


@given(st.lists(near_valid(), min_size=1, max_size=4), st.booleans())
def test_fast_path_agrees_with_the_exact_path(docs: list[dict], as_array: bool) -> None:
    """Whatever the compiled decoder accepts, the exact one accepts with the same events."""
    raw = json.dumps(docs if as_array else docs[0], ensure_ascii=False).encode()  # big ints too
    exact = decode_exact(raw)
    assert decode_message(raw) == exact
    fast = _decode_fast(raw)
    if fast is not None:
        assert fast == exact[0] and exact[1] == []


OFFER = b'{"event_id":"e","type":"call_offered","ts":1795310102120,"call_id":"c","queue":"q"'


@pytest.mark.parametrize(
    "raw",
    [
        OFFER + b',"priority":123456789012345678901234567890}',
        OFFER.replace(b"1795310102120", b"123456789012345678901234567890") + b"}",
        OFFER + b',"x":' + b"[" * 2000 + b"]" * 2000 + b"}",
        OFFER + b',"tenant":"acme\\n"}',
        OFFER + b',"event_id":"e\\u0001"}',
        b"[" + OFFER + b"}, 5]",
    ],
)
def test_fast_path_hands_doubtful_messages_to_the_exact_path(raw: bytes) -> None:
    assert _decode_fast(raw) is None
    assert decode_message(raw) == decode_exact(raw)
    assert decode_message(raw)[1], "each of these is rejected, with a reason"
