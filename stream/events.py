"""The canonical call-center event, v1: decoded and validated here, once, then trusted.

Every source (simulators, Asterisk queue_log, CDR files, HTTP ingest) produces these JSON
objects; the worker turns Kafka message values into :class:`Event` objects or
:class:`Rejected` records (which go to the dead-letter topic with their reason).
``docs/events.md`` is the human description and ``stream/schema/event-v1.json`` the JSON Schema;
``tests/test_events.py`` keeps the three in agreement.

Durations arrive as seconds (numbers >= 0) and are kept as integer milliseconds so that every
sum stored in Redis is an exact integer, whatever the order or batching of additions.

Two decoders, one meaning: :func:`decode_message` first tries a compiled one (msgspec decodes
and type-checks a whole message into :class:`_Wire` structs, ~1 µs per event), and whenever
that one has any doubt — a type error anywhere in the message, a missing field, text that is not
printable — it hands the message to the exact one (orjson + :func:`parse_event`), which decides
and gives every rejection its reason. So the fast path only ever accepts what the exact path
accepts, and yields the same events (``tests/stream/test_events.py`` checks this property).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from stream.errors import InvalidEvent

SCHEMA_VERSION = 1

#: Event types and the fields each one requires beyond ``event_id``, ``type`` and ``ts``.
REQUIRED: dict[str, tuple[str, ...]] = {
    "call_offered": ("call_id", "queue"),
    "call_answered": ("call_id", "queue", "agent_id", "wait_s"),
    "call_abandoned": ("call_id", "queue", "wait_s"),
    "call_overflowed": ("call_id", "queue", "wait_s"),
    "call_ended": ("call_id", "queue", "agent_id", "talk_s"),
    "wrapup_ended": ("call_id", "queue", "agent_id", "acw_s"),
    "agent_state": ("agent_id", "state"),
}
EVENT_TYPES = tuple(REQUIRED)
#: Types that end a call's wait in a queue (the "queue exit" events of docs/kpis.md).
QUEUE_EXITS = frozenset({"call_answered", "call_abandoned", "call_overflowed"})
AGENT_STATES = ("logged_out", "available", "on_call", "wrap_up", "aux")

DEFAULT_TENANT = "default"
#: A tenant names a Redis hash tag ``{tenant}``, so braces and separators are excluded.
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
MAX_ID_LEN = 256
MAX_NAME_LEN = 128
#: Plausible event time range (epoch ms): 2000-01-01 .. 2100-01-01. Outside it is a unit error.
TS_MIN_MS = 946_684_800_000
TS_MAX_MS = 4_102_444_800_000
#: Longest duration accepted, seconds (one day); longer is a source bug, not a call.
MAX_DURATION_S = 86_400.0
#: Priorities are 32-bit integers (larger is a unit or encoding error).
PRIORITY_MIN, PRIORITY_MAX = -(2**31), 2**31 - 1

# Rejection reasons: stable codes, documented in docs/events.md, counted in Redis.
R_INVALID_JSON = "invalid_json"
R_NOT_OBJECT = "not_an_object"
R_UNKNOWN_TYPE = "unknown_type"
R_MISSING_FIELD = "missing_field"
R_BAD_FIELD = "bad_field"
R_BAD_TIMESTAMP = "bad_timestamp"
R_BAD_DURATION = "bad_duration"
R_BAD_STATE = "bad_state"
R_BAD_TENANT = "bad_tenant"
REASONS = (
    R_INVALID_JSON,
    R_NOT_OBJECT,
    R_UNKNOWN_TYPE,
    R_MISSING_FIELD,
    R_BAD_FIELD,
    R_BAD_TIMESTAMP,
    R_BAD_DURATION,
    R_BAD_STATE,
    R_BAD_TENANT,
)


class Event(msgspec.Struct, frozen=True, gc=False):
    """One validated event. Times are epoch milliseconds, durations integer milliseconds.

    A frozen msgspec Struct rather than a dataclass: built ~100k times a second by the worker,
    and a Struct is built several times faster (measured 0.2 vs 1.8 µs).
    """

    event_id: str
    type: str
    ts_ms: int
    tenant: str = DEFAULT_TENANT
    call_id: str | None = None
    queue: str | None = None
    agent_id: str | None = None
    caller: str | None = None
    priority: int | None = None
    wait_ms: int | None = None
    talk_ms: int | None = None
    hold_ms: int = 0
    acw_ms: int | None = None
    to_queue: str | None = None
    state: str | None = None
    reason: str | None = None
    queues: tuple[str, ...] | None = None

    @property
    def key(self) -> bytes:
        """Kafka message key: all events of one call (or one agent) go to one partition, in order."""
        ident = self.call_id if self.call_id is not None else f"agent:{self.agent_id}"
        return f"{self.tenant}:{ident}".encode()


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input that is not a valid v1 event, kept with its reason for the dead-letter topic."""

    index: int  # position in the message's JSON array, 0 for a single event
    reason: str  # one of REASONS
    detail: str  # human-readable: which field, what was wrong
    raw: bytes  # the original bytes of this event (or of the whole message if undecodable)


def parse_ts(value: Any) -> int:
    """RFC 3339 with an explicit offset, or integer epoch milliseconds -> epoch ms."""
    if isinstance(value, bool):
        raise InvalidEvent(R_BAD_TIMESTAMP, "ts must be RFC 3339 text or integer epoch ms")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as e:
            raise InvalidEvent(R_BAD_TIMESTAMP, f"ts {value!r} is not RFC 3339") from e
        if dt.tzinfo is None or "T" not in text.upper():
            raise InvalidEvent(R_BAD_TIMESTAMP, f"ts {value!r} needs a date, a time and an offset")
        ms = round(dt.timestamp() * 1000)
    else:
        raise InvalidEvent(R_BAD_TIMESTAMP, "ts must be RFC 3339 text or integer epoch ms")
    if not TS_MIN_MS <= ms < TS_MAX_MS:
        raise InvalidEvent(R_BAD_TIMESTAMP, f"ts {value!r} is outside 2000..2100")
    return ms


def _text(obj: dict[str, Any], name: str, *, limit: int = MAX_NAME_LEN) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise InvalidEvent(R_BAD_FIELD, f"{name} must be a non-empty printable string of <= {limit}")
    return value


def _duration_ms(obj: dict[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(R_BAD_DURATION, f"{name} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise InvalidEvent(R_BAD_DURATION, f"{name} must be a finite number >= 0, got {value!r}")
    if value > MAX_DURATION_S:
        raise InvalidEvent(R_BAD_DURATION, f"{name}={value!r} s is longer than a day")
    return round(value * 1000)


def parse_event(obj: Any) -> Event:
    """Validate one decoded JSON value as a v1 event; raise :class:`InvalidEvent` with a reason."""
    if not isinstance(obj, dict):
        raise InvalidEvent(R_NOT_OBJECT, f"an event is a JSON object, got {type(obj).__name__}")
    etype = obj.get("type")
    if not isinstance(etype, str) or etype not in REQUIRED:
        raise InvalidEvent(R_UNKNOWN_TYPE, f"type {etype!r} is not one of {', '.join(EVENT_TYPES)}")
    for name in ("event_id", "ts", *REQUIRED[etype]):
        if obj.get(name) is None:
            raise InvalidEvent(R_MISSING_FIELD, f"{etype} requires {name}")
    tenant = obj.get("tenant")
    if tenant is None:
        tenant = DEFAULT_TENANT
    elif not isinstance(tenant, str) or not TENANT_RE.fullmatch(tenant):
        raise InvalidEvent(R_BAD_TENANT, f"tenant {tenant!r} must match {TENANT_RE.pattern}")
    priority = obj.get("priority")
    if priority is not None and (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not PRIORITY_MIN <= priority <= PRIORITY_MAX
    ):
        raise InvalidEvent(R_BAD_FIELD, "priority must be a 32-bit integer")
    state = obj.get("state")
    if state is not None and state not in AGENT_STATES:
        raise InvalidEvent(R_BAD_STATE, f"state {state!r} is not one of {', '.join(AGENT_STATES)}")
    queues = obj.get("queues")
    if queues is not None:
        if not isinstance(queues, list) or not all(
            isinstance(q, str) and q and len(q) <= MAX_NAME_LEN for q in queues
        ):
            raise InvalidEvent(R_BAD_FIELD, "queues must be a list of queue names")
        queues = tuple(queues)
    hold_ms = _duration_ms(obj, "hold_s")
    return Event(
        event_id=_text(obj, "event_id", limit=MAX_ID_LEN) or "",
        type=etype,
        ts_ms=parse_ts(obj["ts"]),
        tenant=tenant,
        call_id=_text(obj, "call_id", limit=MAX_ID_LEN),
        queue=_text(obj, "queue"),
        agent_id=_text(obj, "agent_id"),
        caller=_text(obj, "caller", limit=MAX_ID_LEN),
        priority=priority,
        wait_ms=_duration_ms(obj, "wait_s"),
        talk_ms=_duration_ms(obj, "talk_s"),
        hold_ms=hold_ms if hold_ms is not None else 0,
        acw_ms=_duration_ms(obj, "acw_s"),
        to_queue=_text(obj, "to_queue"),
        state=state,
        reason=_text(obj, "reason"),
        queues=queues,
    )


_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LEN)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LEN)]
_Seconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_DURATION_S)]
_Priority = Annotated[int, msgspec.Meta(ge=PRIORITY_MIN, le=PRIORITY_MAX)]
# Built from the tuples above, so the compiled check and the exact one share one list.
_EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
_AgentState = Literal[AGENT_STATES]  # type: ignore[valid-type]


class _Wire(msgspec.Struct, frozen=True, gc=False):
    """The wire form as the compiled decoder checks it: every field :func:`parse_event` reads,
    typed and bounded alike; what msgspec cannot say (required-by-type, printable text, the
    tenant pattern, the time range) is checked in :func:`_decode_fast`."""

    type: _EventType
    event_id: _Id | None = None
    ts: int | str | None = None
    tenant: str | None = None
    call_id: _Id | None = None
    queue: _Name | None = None
    agent_id: _Name | None = None
    caller: _Id | None = None
    priority: _Priority | None = None
    wait_s: _Seconds | None = None
    talk_s: _Seconds | None = None
    hold_s: _Seconds | None = None
    acw_s: _Seconds | None = None
    to_queue: _Name | None = None
    state: _AgentState | None = None
    reason: _Name | None = None
    queues: list[_Name] | None = None


_WIRE = msgspec.json.Decoder(list[_Wire] | _Wire)
#: Tenants that matched TENANT_RE (a handful per deployment; bounded in case of a flood).
_GOOD_TENANTS: set[str] = set()


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _decode_fast(raw: bytes) -> list[Event] | None:
    """The compiled path: the events of an all-valid message, or None for "ask the exact path"."""
    try:
        doc = _WIRE.decode(raw)
    except Exception:  # noqa: BLE001 - any doubt at all (incl. RecursionError): the exact path decides
        return None
    out: list[Event] = []
    for w in doc if isinstance(doc, list) else (doc,):
        ev = _from_wire(w)
        if ev is None:
            return None
        out.append(ev)
    return out


def _from_wire(w: _Wire) -> Event | None:
    """The checks msgspec cannot express; None where :func:`parse_event` would reject."""
    for name in REQUIRED[w.type]:
        if getattr(w, name) is None:
            return None
    eid, ts, tenant = w.event_id, w.ts, w.tenant
    if eid is None or ts is None:
        return None
    if type(ts) is int:
        if not TS_MIN_MS <= ts < TS_MAX_MS:
            return None
    else:
        try:
            ts = parse_ts(ts)
        except InvalidEvent:
            return None
    if tenant is None:
        tenant = DEFAULT_TENANT
    elif tenant not in _GOOD_TENANTS:
        if not TENANT_RE.fullmatch(tenant):
            return None
        if len(_GOOD_TENANTS) < 10_000:
            _GOOD_TENANTS.add(tenant)
    # One check for all texts: a concatenation is printable iff every part is.
    text = eid + (w.call_id or "") + (w.queue or "") + (w.agent_id or "") + (w.caller or "")
    if not (text + (w.to_queue or "") + (w.reason or "")).isprintable():
        return None
    return Event(
        eid,
        w.type,
        ts,
        tenant,
        w.call_id,
        w.queue,
        w.agent_id,
        w.caller,
        w.priority,
        _ms(w.wait_s),
        _ms(w.talk_s),
        0 if w.hold_s is None else round(w.hold_s * 1000),
        _ms(w.acw_s),
        w.to_queue,
        w.state,
        w.reason,
        None if w.queues is None else tuple(w.queues),
    )


def decode_message(raw: bytes) -> tuple[list[Event], list[Rejected]]:
    """Decode one Kafka message value: one JSON event or a JSON array of events.

    Never raises: whatever cannot be used comes back as a :class:`Rejected` with its reason.
    """
    fast = _decode_fast(raw)
    if fast is not None:
        return fast, []
    return decode_exact(raw)


def decode_exact(raw: bytes) -> tuple[list[Event], list[Rejected]]:
    """The exact path of :func:`decode_message`: every event validated alone, with reasons."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        return [], [Rejected(0, R_INVALID_JSON, str(e)[:200], raw)]
    items = doc if isinstance(doc, list) else [doc]
    events: list[Event] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except InvalidEvent as e:
            body = raw if not isinstance(doc, list) else orjson.dumps(item)
            rejected.append(Rejected(i, e.reason, e.detail, body))
    return events, rejected


def to_wire(event: Event) -> dict[str, Any]:
    """The JSON form of an event (the inverse of :func:`parse_event`; ts as epoch ms)."""
    out: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "ts": event.ts_ms,
        "tenant": event.tenant,
    }
    for name in ("call_id", "queue", "agent_id", "caller", "priority", "to_queue", "state", "reason"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    for name, ms in (("wait_s", event.wait_ms), ("talk_s", event.talk_ms), ("acw_s", event.acw_ms)):
        if ms is not None:
            out[name] = ms / 1000
    if event.type == "call_ended":
        out["hold_s"] = event.hold_ms / 1000
    if event.queues is not None:
        out["queues"] = list(event.queues)
    return out
