"""Pure alert evaluation: a rule against a snapshot, and the per-alert state machine.

No Redis, no clock: :func:`read_rule` takes a :class:`~stream.query.TenantSnapshot` (the same
aggregates the wall board shows) and :func:`step` takes ``now_ms``. An alert is one rule on one
queue (id ``"<rule>|<queue>"``); its lifecycle::

    ok --condition true--> pending --true for `for`--> firing --condition false--> resolved (ok)
       (for = 0: straight to firing)   |                  |
       pending --condition false--> ok (history: resolved, no message)
                                          firing and still true after `cooldown`: one repeat

"Condition true" needs a value, a threshold, enough volume (``min_volume`` calls in the window)
and every ``also`` condition. No data, too little volume or a false condition all count as not
true: a firing alert then resolves (an empty night queue is not an emergency).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from stream.alerts.rules import Rule, resolve
from stream.config import TenantConfig
from stream.query import KpiRow, QueueView, TenantSnapshot

TOTAL = "@total"
TENANT_WIDE = "*"


def compare(value: float, op: str, threshold: float) -> bool:
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    msg = f"unknown comparison {op!r}"
    raise ValueError(msg)


def _row(view: QueueView, window: str) -> KpiRow:
    if window == "interval":
        return view.interval
    if window == "today":
        return view.today
    return view.rolling[int(window.split("_")[1])]


def _agents(view: QueueView, snap: TenantSnapshot) -> dict[str, int] | None:
    """Agents by state for a queue; tenant-wide when agents do not say which queues they serve."""
    if not snap.agents:
        return None  # this tenant sends no agent states: "no agents" would be a false alarm
    if view.queue and not any(a.queues is not None for a in snap.agents):
        return snap.totals.agents
    return view.agents


def metric_value(
    view: QueueView, snap: TenantSnapshot, metric: str, window: str
) -> tuple[Any, KpiRow | None]:
    """(value, the window's row or None for live state)."""
    if metric == "waiting":
        return view.waiting, None
    if metric == "oldest_wait_s":
        return view.oldest_wait_s, None
    if metric == "heartbeat_age_s":
        return snap.heartbeat_age_s, None
    if metric == "data_age_s":
        return snap.data_age_s, None
    if metric.startswith("agents_"):
        agents = _agents(view, snap)
        if agents is None:
            return None, None
        if metric == "agents_logged_in":
            return sum(n for s, n in agents.items() if s != "logged_out"), None
        return agents.get(metric.removeprefix("agents_"), 0), None
    row = _row(view, window)
    return row.get(metric), row


@dataclass(frozen=True)
class Reading:
    """A rule on one queue now. ``breach``: the condition holds (what the state machine needs)."""

    value: float | None
    threshold: float | None
    op: str | None
    volume: int | None
    breach: bool
    reason: Literal["breach", "ok", "no_data", "no_threshold", "low_volume", "also_false"]


def read_rule(rule: Rule, cfg: TenantConfig, snap: TenantSnapshot, queue: str, view: QueueView) -> Reading:
    window = rule.effective_window
    qname = None if queue in (TOTAL, TENANT_WIDE) else queue
    value, row = metric_value(view, snap, rule.metric, window)
    volume = int(row.get(rule.volume) or 0) if row is not None else None
    resolved = rule.resolve_threshold(cfg, qname)
    if resolved is None:
        return Reading(value, None, rule.op, volume, False, "no_threshold")
    threshold, op = resolved
    if value is None:
        return Reading(None, threshold, op, volume, False, "no_data")
    if rule.min_volume and (volume or 0) < rule.min_volume:
        return Reading(value, threshold, op, volume, False, "low_volume")
    if not compare(float(value), op, threshold):
        return Reading(value, threshold, op, volume, False, "ok")
    for cond in rule.also:
        v, _ = metric_value(view, snap, cond.metric, cond.window or ("live" if row is None else window))
        r = resolve(cond.metric, cond.op, cond.threshold, cfg, qname)
        if v is None or r is None or not compare(float(v), r[1], r[0]):
            return Reading(value, threshold, op, volume, False, "also_false")
    return Reading(value, threshold, op, volume, True, "breach")


def targets(rule: Rule, cfg: TenantConfig, snap: TenantSnapshot) -> Iterator[tuple[str, QueueView]]:
    """The (queue name, view) pairs a rule looks at in a tenant."""
    if rule.tenant_wide:
        yield TENANT_WIDE, snap.totals
        return
    for q, view in snap.queues.items():
        if rule.matches_queue(cfg, q):
            yield q, view
    if rule.wants_total():
        yield TOTAL, snap.totals


def alert_id(rule: str, queue: str) -> str:
    return f"{rule}|{queue}"


# -- the state machine -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertState:
    """What Redis keeps per alert between ticks (absent = ok). Times are epoch ms."""

    state: Literal["pending", "firing"]
    since_ms: int  # when the condition became true
    value: float | None
    threshold: float
    fired_ms: int | None = None
    notified_ms: int | None = None  # last firing/repeat message
    v: int = 0  # version, bumped by every write (compare-and-set in Redis)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "since_ms": self.since_ms,
            "value": self.value,
            "threshold": self.threshold,
            "fired_ms": self.fired_ms,
            "notified_ms": self.notified_ms,
            "v": self.v,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AlertState:
        return cls(
            d["state"],
            int(d["since_ms"]),
            d.get("value"),
            float(d["threshold"]),
            d.get("fired_ms"),
            d.get("notified_ms"),
            int(d.get("v", 0)),
        )


Notify = Literal["firing", "repeat", "resolved"]


@dataclass(frozen=True)
class Change:
    """One write: the new state (None = back to ok), a history entry, a message to send."""

    new: AlertState | None
    history: Literal["pending", "firing", "resolved"] | None
    notify: Notify | None
    since_ms: int  # the condition's onset, for messages
    was: str | None = None  # the state left, for the history of a cancelled pending alert


def step(
    prev: AlertState | None, reading: Reading, now_ms: int, for_s: float, cooldown_s: float
) -> Change | None:
    """The next state of one alert, or None when nothing needs writing.

    ``cooldown_s`` 0 means: never repeat while firing.
    """
    value, thr = reading.value, reading.threshold
    if prev is None:
        if not reading.breach or thr is None:
            return None
        if for_s <= 0:
            st = AlertState("firing", now_ms, value, thr, fired_ms=now_ms, notified_ms=now_ms, v=1)
            return Change(st, "firing", "firing", now_ms)
        return Change(AlertState("pending", now_ms, value, thr, v=1), "pending", None, now_ms)
    nv = prev.v + 1
    if not reading.breach:
        kind: Notify | None = "resolved" if prev.state == "firing" else None
        return Change(None, "resolved", kind, prev.since_ms, was=prev.state)
    thr = thr if thr is not None else prev.threshold
    if prev.state == "pending":
        if now_ms - prev.since_ms >= for_s * 1000:
            st = replace(
                prev, state="firing", value=value, threshold=thr, fired_ms=now_ms, notified_ms=now_ms, v=nv
            )
            return Change(st, "firing", "firing", prev.since_ms)
        return None
    last = prev.notified_ms or prev.fired_ms or prev.since_ms
    if cooldown_s > 0 and now_ms - last >= cooldown_s * 1000:
        return Change(
            replace(prev, value=value, threshold=thr, notified_ms=now_ms, v=nv), None, "repeat", prev.since_ms
        )
    if value != prev.value or thr != prev.threshold:
        return Change(replace(prev, value=value, threshold=thr, v=nv), None, None, prev.since_ms)
    return None
