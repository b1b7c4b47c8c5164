"""Asterisk / FreePBX ``queue_log`` -> canonical v1 events.

A line is ``epoch|uniqueid|queue|agent|event|data1|data2|…`` (Asterisk "Queue Logs" page,
https://docs.asterisk.org/Operation/Logging/Queue-Logs/). ``epoch`` is a UNIX time in seconds, an
instant, so no time zone is needed. ``uniqueid`` is the caller channel's unique id (our
``call_id``), ``agent`` the queue member (our ``agent_id``). Which data field feeds which event is
the table in ``docs/sources.md``; in short:

* ENTERQUEUE(url|callerid|origposition) -> ``call_offered`` (caller = callerid)
* CONNECT(holdtime|bridgeduniqueid|ringtime) -> ``call_answered`` (wait_s = holdtime) and the
  agent's ``agent_state`` ``on_call``
* COMPLETECALLER / COMPLETEAGENT(holdtime|calltime|origposition), TRANSFER / BLINDTRANSFER
  (extension|context|holdtime|calltime|origposition), ATTENDEDTRANSFER(method|data|holdtime|calltime|
  origposition) -> ``call_ended`` (talk_s = calltime); the agent is free again
* ABANDON(position|origposition|waittime) -> ``call_abandoned`` (wait_s = waittime)
* EXITWITHTIMEOUT / EXITEMPTY(position|origposition|waittime), EXITWITHKEY(key|position|
  origposition|waittime) -> ``call_overflowed``
* AGENTLOGIN / AGENTLOGOFF, ADDMEMBER / REMOVEMEMBER, PAUSE / PAUSEALL (data1 = reason) / UNPAUSE /
  UNPAUSEALL -> ``agent_state`` when the agent's derived state changes
* RINGNOANSWER(ringtime ms), QUEUESTART, CONFIGRELOAD, DID, INFO, … -> no event, counted.

Asterisk's queue "holdtime" is the time waiting in the queue, not a customer hold during the
talk; so ``hold_s`` is never set from it. queue_log has no wrap-up record: no ``wrapup_ended``.

The mapper keeps a small state per agent (queues, paused, on a call) so that agent states are
complete; :meth:`QueueLogMapper.state` / :meth:`load_state` carry it across a follow restart.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sources.common import SourceError, check_event, event_id
from stream.events import TS_MAX_MS, TS_MIN_MS

SOURCE = "queue_log"
#: Placeholder Asterisk writes when a field has no value.
NONE = "NONE"

# Rejection reasons of this adapter (the canonical ones of stream.events may also appear).
R_TOO_FEW_FIELDS = "too_few_fields"
R_BAD_EPOCH = "bad_timestamp"
R_BAD_NUMBER = "bad_number"
R_MISSING = "missing_field"
R_NOT_TEXT = "not_text"
R_BAD_DURATION = "bad_duration"

#: Events that end a talk: data index (0-based) of holdtime and calltime.
CALL_END = {
    "COMPLETECALLER": (0, 1),
    "COMPLETEAGENT": (0, 1),
    "TRANSFER": (2, 3),
    "BLINDTRANSFER": (2, 3),
    "ATTENDEDTRANSFER": (2, 3),
}
#: Queue exits without an agent: canonical type and data index of the wait time.
QUEUE_EXIT = {
    "ABANDON": ("call_abandoned", 2),
    "EXITWITHTIMEOUT": ("call_overflowed", 2),
    "EXITEMPTY": ("call_overflowed", 2),
    "EXITWITHKEY": ("call_overflowed", 3),
}
AGENT_EVENTS = frozenset(
    {"AGENTLOGIN", "AGENTLOGOFF", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "PAUSEALL", "UNPAUSE", "UNPAUSEALL"}
)
#: Known lines that carry nothing for the KPIs: counted, never an error.
IGNORED = frozenset(
    {
        "RINGNOANSWER",
        "RINGCANCELED",
        "QUEUESTART",
        "CONFIGRELOAD",
        "AGENTDUMP",
        "SYSCOMPAT",
        "DID",
        "INFO",
        "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF",
        "JOINEMPTY",
    }
)


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    """One parsed line. ``ts_ms`` epoch milliseconds; ``data`` the event parameters."""

    ts_ms: int
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


def parse_line(text: str) -> QueueLogLine:
    """Split and check one queue_log line (without its newline); raise :class:`SourceError`."""
    if not text.isprintable():
        raise SourceError(R_NOT_TEXT, "line contains control characters")
    fields = text.split("|")
    if len(fields) < 5:
        raise SourceError(
            R_TOO_FEW_FIELDS, f"expected epoch|uniqueid|queue|agent|event…, got {len(fields)} fields"
        )
    epoch, call_id, queue, agent, event, *data = (f.strip() for f in fields)
    try:
        seconds = float(epoch)
    except ValueError as e:
        raise SourceError(R_BAD_EPOCH, f"epoch {epoch!r} is not a UNIX time in seconds") from e
    if not math.isfinite(seconds) or not TS_MIN_MS <= seconds * 1000 < TS_MAX_MS:
        raise SourceError(R_BAD_EPOCH, f"epoch {epoch!r} is outside 2000..2100")
    if not event:
        raise SourceError(R_MISSING, "event name is empty")
    return QueueLogLine(round(seconds * 1000), call_id, queue, agent, event.upper(), tuple(data))


def _seconds(line: QueueLogLine, index: int, name: str) -> int:
    """Integer seconds from data field ``index`` (Asterisk writes whole seconds)."""
    if index >= len(line.data) or line.data[index] == "":
        raise SourceError(R_MISSING, f"{line.event} needs {name} in data{index + 1}")
    text = line.data[index]
    try:
        value = int(text)
    except ValueError as e:
        raise SourceError(
            R_BAD_NUMBER, f"{line.event} {name} (data{index + 1}) {text!r} is not an integer"
        ) from e
    if value < 0:
        raise SourceError(R_BAD_DURATION, f"{line.event} {name} (data{index + 1}) is negative: {value}")
    return value


def _need(value: str, what: str, event: str) -> str:
    if not value or value == NONE:
        raise SourceError(R_MISSING, f"{event} needs {what}")
    return value


@dataclass
class AgentView:
    """What the log told us about one agent so far."""

    queues: set[str] = field(default_factory=set)
    logged_in: bool = False
    paused: str | None = None  # pause reason ("" = paused without reason), None = not paused
    on_call: bool = False
    emitted: tuple[str, str, tuple[str, ...]] | None = None  # last (state, reason, queues) sent

    def state(self) -> tuple[str, str, tuple[str, ...]]:
        if not self.logged_in:
            name = "logged_out"
        elif self.on_call:
            name = "on_call"
        elif self.paused is not None:
            name = "aux"
        else:
            name = "available"
        reason = (self.paused or "") if name == "aux" else ""
        return name, reason, tuple(sorted(self.queues))


class QueueLogMapper:
    """Turns parsed lines into v1 event dicts for one tenant; counts what it ignores."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.agents: dict[str, AgentView] = {}
        self.ignored: Counter[str] = Counter()

    # -- state across restarts -------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            name: {
                "queues": sorted(a.queues),
                "logged_in": a.logged_in,
                "paused": a.paused,
                "on_call": a.on_call,
                "emitted": list(a.emitted[:2]) + [list(a.emitted[2])] if a.emitted else None,
            }
            for name, a in self.agents.items()
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.agents = {}
        for name, a in state.items():
            emitted = a.get("emitted")
            self.agents[name] = AgentView(
                queues=set(a.get("queues", ())),
                logged_in=bool(a.get("logged_in")),
                paused=a.get("paused"),
                on_call=bool(a.get("on_call")),
                emitted=(emitted[0], emitted[1], tuple(emitted[2])) if emitted else None,
            )

    # -- mapping ---------------------------------------------------------------------------
    def _base(self, line: QueueLogLine, raw: str, kind: str, etype: str) -> dict[str, Any]:
        return {
            "event_id": event_id(SOURCE, self.tenant, raw, kind),
            "type": etype,
            "ts": line.ts_ms,
            "tenant": self.tenant,
        }

    def _call(self, line: QueueLogLine, raw: str, etype: str, **fields: Any) -> dict[str, Any]:
        ev = self._base(line, raw, "call", etype)
        ev["call_id"] = _need(line.call_id, "a uniqueid", line.event)
        ev["queue"] = _need(line.queue, "a queue", line.event)
        ev.update(fields)
        return ev

    def _agent_change(self, line: QueueLogLine, raw: str, agent: str) -> list[dict[str, Any]]:
        view = self.agents[agent]
        now = view.state()
        if now == view.emitted:
            return []
        state, reason, queues = now
        ev = self._base(line, raw, f"agent:{agent}", "agent_state")
        ev.update(agent_id=agent, state=state)
        if reason:
            ev["reason"] = reason
        if queues:
            ev["queues"] = list(queues)
        check_event(ev)
        view.emitted = now
        return [ev]

    def map_line(self, line: QueueLogLine, raw: str) -> list[dict[str, Any]]:
        """The events of one line (maybe none); raise :class:`SourceError` if it cannot be used.

        ``raw`` is the line's text: its hash makes the event ids, so the same line always gives
        the same ids wherever and however often it is read.
        """
        ev = line.event
        if ev in AGENT_EVENTS:
            return self._agent_line(line, raw)
        if ev == "ENTERQUEUE":
            caller = line.data[1] if len(line.data) > 1 else ""
            extra = {"caller": caller} if caller and caller.lower() not in ("unknown", "anonymous") else {}
            out = [self._call(line, raw, "call_offered", **extra)]
        elif ev == "CONNECT":
            agent = _need(line.agent, "an agent", ev)
            out = [
                self._call(line, raw, "call_answered", agent_id=agent, wait_s=_seconds(line, 0, "holdtime"))
            ]
            view = self._view(agent, line.queue)
            view.on_call = True
            check_event(out[0])
            return out + self._agent_change(line, raw, agent)
        elif ev in CALL_END:
            agent = _need(line.agent, "an agent", ev)
            _seconds(line, CALL_END[ev][0], "holdtime")  # checked, not used (queue wait, not hold)
            talk = _seconds(line, CALL_END[ev][1], "calltime")
            out = [self._call(line, raw, "call_ended", agent_id=agent, talk_s=talk)]
            check_event(out[0])
            view = self._view(agent, line.queue)
            view.on_call = False
            return out + self._agent_change(line, raw, agent)
        elif ev in QUEUE_EXIT:
            etype, index = QUEUE_EXIT[ev]
            out = [self._call(line, raw, etype, wait_s=_seconds(line, index, "waittime"))]
        else:
            self.ignored[ev if ev in IGNORED else f"other:{ev}"[:64]] += 1
            return []
        for item in out:
            check_event(item)
        return out

    def _view(self, agent: str, queue: str) -> AgentView:
        view = self.agents.setdefault(agent, AgentView())
        view.logged_in = True  # taking calls or pausing means logged in (static members never log in)
        if queue and queue != NONE:
            view.queues.add(queue)
        return view

    def _agent_line(self, line: QueueLogLine, raw: str) -> list[dict[str, Any]]:
        ev = line.event
        agent = _need(line.agent, "an agent", ev)
        data1 = line.data[0] if line.data else ""
        if ev in ("AGENTLOGIN", "ADDMEMBER"):
            view = self._view(agent, line.queue)
            if ev == "ADDMEMBER" and data1.upper() == "PAUSED":
                view.paused = ""
        elif ev == "AGENTLOGOFF":
            view = self.agents.setdefault(agent, AgentView())
            view.logged_in, view.on_call, view.paused = False, False, None
            view.queues.clear()
        elif ev == "REMOVEMEMBER":
            view = self.agents.setdefault(agent, AgentView())
            view.queues.discard(line.queue)
            if not view.queues:
                view.logged_in, view.on_call, view.paused = False, False, None
        elif ev in ("PAUSE", "PAUSEALL"):
            view = self._view(agent, line.queue)
            view.paused = data1 if data1 != NONE else ""
        else:  # UNPAUSE, UNPAUSEALL
            view = self._view(agent, line.queue)
            view.paused = None
        return self._agent_change(line, raw, agent)
