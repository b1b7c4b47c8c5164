"""Consistency rules of a call-center event stream, checked event by event.

Used by the property tests and by ``python -m simulators check FILE``. The rules are those of
docs/simulators.md: every answer, abandon or overflow follows its offer in that queue; talk
follows answer; wrap-up follows talk; an agent handles one call at a time and only while logged
in and not in aux; agent states change along the allowed transitions; timestamps never go
backwards (globally and per call); ``wait_s``/``talk_s``/``acw_s`` match the timestamps; every
event is a valid v1 event with a unique ``event_id``. A stream may stop anywhere (calls still in
progress at the end are fine).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.errors import InvalidEvent
from stream.events import parse_event, parse_ts

#: Allowed agent-state transitions (the answer/talk/wrap-up ones are further tied to call events).
TRANSITIONS = {
    "logged_out": {"available"},
    "available": {"on_call", "aux", "logged_out"},
    "on_call": {"wrap_up"},
    "wrap_up": {"available", "aux", "logged_out"},
    "aux": {"available", "aux", "logged_out"},
}
#: Durations are rounded to ms; allow that much disagreement with the timestamps.
TOLERANCE_MS = 1


@dataclass
class _Call:
    phase: str = "new"  # new, waiting, talking, after_talk, left
    queue: str | None = None
    since: int = 0  # ts of the last phase change
    agent: str | None = None
    next_queue: str | None = None  # where an overflow/transfer must be offered next
    last_ts: int = 0


@dataclass
class _Agent:
    state: str = "logged_out"
    call: str | None = None  # call being talked or wrapped up
    expect: str | None = None  # the agent_state that must come next ("on_call", "wrap_up")
    wrap_call: str | None = None  # call whose wrap-up is running
    ended_at: int = 0


@dataclass
class Report:
    events: int = 0
    violations: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


class Checker:
    """Feed events in stream order with :meth:`add`; read :attr:`report`."""

    def __init__(self, *, validate: bool = True, max_violations: int = 50) -> None:
        self.validate = validate
        self.max_violations = max_violations
        self.report = Report()
        self.calls: dict[str, _Call] = {}
        self.agents: dict[str, _Agent] = {}
        self.ids: set[str] = set()
        self.last_ts = 0

    def _bad(self, ev: Mapping[str, Any], why: str) -> None:
        if len(self.report.violations) < self.max_violations:
            self.report.violations.append(f"{why}: {dict(ev)}")

    def add(self, ev: Mapping[str, Any]) -> None:
        self.report.events += 1
        etype = ev.get("type", "?")
        self.report.counts[etype] = self.report.counts.get(etype, 0) + 1
        if self.validate:
            try:
                parse_event(dict(ev))
            except InvalidEvent as e:
                self._bad(ev, f"invalid v1 event ({e})")
                return
        ts = parse_ts(ev["ts"])
        if ev["event_id"] in self.ids:
            self._bad(ev, "duplicate event_id")
        self.ids.add(ev["event_id"])
        if ts < self.last_ts:
            self._bad(ev, f"time went backwards ({self.last_ts} -> {ts})")
        self.last_ts = max(self.last_ts, ts)
        if etype == "agent_state":
            self._agent_state(ev, ts)
        else:
            self._call_event(ev, etype, ts)

    def _agent_state(self, ev: Mapping[str, Any], ts: int) -> None:
        a = self.agents.setdefault(ev["agent_id"], _Agent())
        new = ev["state"]
        if new not in TRANSITIONS.get(a.state, set()):
            self._bad(ev, f"agent {a.state} -> {new} is not allowed")
        if a.expect is not None and new != a.expect:
            self._bad(ev, f"agent should go {a.expect} next, went {new}")
        if a.expect is None and new in ("on_call", "wrap_up"):
            self._bad(ev, f"agent went {new} without a call event")
        if new == "available" and a.state == "wrap_up" and a.wrap_call is not None:
            self._bad(ev, "agent available before wrapup_ended")
        if new in ("aux", "logged_out") and (a.call is not None or a.wrap_call is not None):
            self._bad(ev, f"agent went {new} with a call in progress")
        a.expect = None
        a.state = new

    def _call_event(self, ev: Mapping[str, Any], etype: str, ts: int) -> None:
        c = self.calls.setdefault(ev["call_id"], _Call())
        q = ev["queue"]
        if ts < c.last_ts:
            self._bad(ev, "call time went backwards")
        c.last_ts = ts
        if etype == "call_offered":
            if c.phase == "new" or (c.phase in ("left", "after_talk") and c.next_queue == q):
                c.phase, c.queue, c.since, c.next_queue = "waiting", q, ts, None
            else:
                self._bad(ev, f"offer while call is {c.phase} (expected next queue {c.next_queue})")
            return
        if etype in ("call_answered", "call_abandoned", "call_overflowed"):
            if c.phase != "waiting" or c.queue != q:
                self._bad(ev, f"{etype} without a waiting offer in {q} (call is {c.phase} in {c.queue})")
                return
            if abs(ev["wait_s"] * 1000 - (ts - c.since)) > TOLERANCE_MS:
                self._bad(ev, f"wait_s {ev['wait_s']} != {(ts - c.since) / 1000} since offer")
            c.since = ts
            if etype == "call_answered":
                a = self.agents.setdefault(ev["agent_id"], _Agent())
                if a.state != "available" or a.call is not None or a.wrap_call is not None:
                    self._bad(ev, f"answered by agent in state {a.state} (call {a.call}, wrap {a.wrap_call})")
                a.call, a.expect = ev["call_id"], "on_call"
                c.phase, c.agent = "talking", ev["agent_id"]
            else:
                c.phase = "left"
                c.next_queue = ev.get("to_queue")
            return
        if etype == "call_ended":
            if c.phase != "talking" or c.queue != q or c.agent != ev["agent_id"]:
                self._bad(ev, f"call_ended without an answer by this agent in {q}")
                return
            talk_ms = (ev["talk_s"] + ev.get("hold_s", 0)) * 1000
            if abs(talk_ms - (ts - c.since)) > 2 * TOLERANCE_MS:
                self._bad(ev, f"talk_s+hold_s != {(ts - c.since) / 1000} since answer")
            a = self.agents.setdefault(ev["agent_id"], _Agent())
            a.call, a.wrap_call, a.ended_at, a.expect = None, ev["call_id"], ts, "wrap_up"
            c.phase, c.since, c.next_queue = "after_talk", ts, ev.get("transferred_to")
            return
        if etype == "wrapup_ended":
            a = self.agents.setdefault(ev["agent_id"], _Agent())
            if a.wrap_call != ev["call_id"]:
                self._bad(ev, f"wrapup_ended without call_ended by this agent (wrapping {a.wrap_call})")
                return
            if abs(ev["acw_s"] * 1000 - (ts - a.ended_at)) > TOLERANCE_MS:
                self._bad(ev, f"acw_s {ev['acw_s']} != {(ts - a.ended_at) / 1000} since call_ended")
            a.wrap_call = None


def check(events: Iterable[Mapping[str, Any]], *, validate: bool = True) -> Report:
    """Check a whole stream; ``report.ok`` is True when no rule is broken."""
    checker = Checker(validate=validate)
    for ev in events:
        checker.add(ev)
    return checker.report
