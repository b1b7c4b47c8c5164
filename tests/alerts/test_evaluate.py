"""The pure evaluator: reading a rule on a snapshot, and the state machine on a fake clock."""

from typing import Any

import pytest

from stream.alerts.evaluate import AlertState, Reading, compare, read_rule, step, targets
from stream.alerts.rules import parse_rules
from stream.config import CenterConfig
from stream.query import AgentRow, QueueView, TenantSnapshot

CFG = CenterConfig.parse_yaml("defaults: {groups: {front: [a, b]}, queues: {b: {max_waiting: 4}}}").tenant(
    "t"
)


def row(**kpis: Any) -> dict[str, Any]:
    return {"closed": 0, "offered": 0, **kpis}


def view(
    q: str,
    *,
    r15: dict[str, Any] | None = None,
    waiting: int = 0,
    oldest: float | None = None,
    agents: dict[str, int] | None = None,
) -> QueueView:
    r = r15 or row()
    return QueueView(q, 0, row(), row(), {5: row(), 15: r, 60: row()}, [], waiting, oldest, agents or {})


def snap(
    *views: QueueView, agents: list[AgentRow] | None = None, workers: dict[str, int] | None = None
) -> TenantSnapshot:
    total = view("", agents={"available": 0})
    return TenantSnapshot("t", 100_000, {v.queue: v for v in views}, total, agents or [], {}, workers or {})


def rule(text: str) -> Any:
    rules = parse_rules("channels: {c: {}}\nrules:\n  - " + text.replace("\n", "\n    "))
    return rules.rules[0]


SL = rule("name: sl\nmetric: service_level_15\nwindow: rolling_15\nthreshold: 80%\nop: '<'\nmin_volume: 5")


@pytest.mark.parametrize(
    ("op", "value", "threshold", "expected"),
    [
        (">", 5, 5, False),
        (">=", 5, 5, True),
        ("<", 0.8, 0.8, False),
        ("<=", 0.8, 0.8, True),
        ("<", 0.79, 0.8, True),
    ],
)
def test_compare_on_the_boundary(op: str, value: float, threshold: float, expected: bool) -> None:
    assert compare(value, op, threshold) is expected


@pytest.mark.parametrize(
    ("kpis", "breach", "reason"),
    [
        ({"service_level_15": 0.5, "closed": 10}, True, "breach"),
        ({"service_level_15": 0.8, "closed": 10}, False, "ok"),  # exactly on the threshold: not below
        ({"service_level_15": 0.0, "closed": 2}, False, "low_volume"),  # no alert on 2 calls
        ({"service_level_15": None, "closed": 0}, False, "no_data"),
    ],
)
def test_read_windowed_kpi(kpis: dict[str, Any], breach: bool, reason: str) -> None:
    v = view("a", r15=row(**kpis))
    got = read_rule(SL, CFG, snap(v), "a", v)
    assert (got.breach, got.reason, got.threshold, got.op) == (breach, reason, 0.8, "<")


def test_no_agents_while_calls_wait() -> None:
    r = rule(
        "name: na\nmetric: agents_available\nop: '<='\nthreshold: 0\n"
        "also: [{metric: waiting, op: '>', threshold: 0}]"
    )
    agents = [AgentRow("x", "on_call", None, 0, ("a",))]
    busy = view("a", waiting=3, agents={"available": 0, "on_call": 1})
    idle = view("a", waiting=0, agents={"available": 0, "on_call": 1})
    assert read_rule(r, CFG, snap(busy, agents=agents), "a", busy).breach
    assert read_rule(r, CFG, snap(idle, agents=agents), "a", idle).reason == "also_false"
    # A tenant that sends no agent states never raises "no agents".
    assert read_rule(r, CFG, snap(busy), "a", busy).reason == "no_data"


def test_waiting_uses_the_queue_limit_of_the_board() -> None:
    r = rule("name: w\nmetric: waiting\nthreshold: crit")
    b = view("b", waiting=4)
    a = view("a", waiting=4)
    assert read_rule(r, CFG, snap(a, b), "b", b).breach  # max_waiting 4
    assert not read_rule(r, CFG, snap(a, b), "a", a).breach  # default limit 20


def test_targets_groups_totals_and_tenant_wide() -> None:
    s = snap(view("a"), view("b"), view("c"))
    assert [
        q
        for q, _ in targets(
            rule("name: g\nqueues: [front, '@total']\nmetric: waiting\nthreshold: crit"), CFG, s
        )
    ] == [
        "a",
        "b",
        "@total",
    ]
    hb = rule("name: hb\nmetric: heartbeat_age_s\nop: '>'\nthreshold: 60")
    assert [q for q, _ in targets(hb, CFG, s)] == ["*"]
    stale = snap(workers={"w": 100_000 - 61_000})
    assert read_rule(hb, CFG, stale, "*", stale.totals).breach


BAD = Reading(0.5, 0.8, "<", 10, True, "breach")
GOOD = Reading(0.9, 0.8, "<", 10, False, "ok")
QUIET = Reading(0.0, 0.8, "<", 2, False, "low_volume")


def run(
    readings: list[tuple[int, Reading]], for_s: float = 2, cooldown_s: float = 4
) -> list[tuple[int, str]]:
    """Feed readings at times (ms); returns (time, event) for history entries and messages."""
    st: AlertState | None = None
    out: list[tuple[int, str]] = []
    for t, r in readings:
        ch = step(st, r, t, for_s, cooldown_s)
        if ch is None:
            continue
        st = ch.new
        if ch.history:
            out.append((t, ch.history))
        if ch.notify:
            out.append((t, f"notify:{ch.notify}"))
    return out


def test_fires_once_after_for_repeats_after_cooldown_resolves_once() -> None:
    ticks = [(t, BAD) for t in range(0, 11_000, 500)] + [(t, GOOD) for t in range(11_000, 13_000, 500)]
    assert run(ticks) == [
        (0, "pending"),
        (2000, "firing"),
        (2000, "notify:firing"),  # `for` 2 s met: one message, none before
        (6000, "notify:repeat"),
        (10_000, "notify:repeat"),  # one repeat per cooldown while firing
        (11_000, "resolved"),
        (11_000, "notify:resolved"),  # one recovery
    ]


def test_pending_cancelled_sends_nothing() -> None:
    assert run([(0, BAD), (1000, BAD), (1500, GOOD), (2500, GOOD)]) == [(0, "pending"), (1500, "resolved")]


def test_low_volume_never_fires() -> None:
    assert run([(t, QUIET) for t in range(0, 20_000, 500)]) == []


def test_for_zero_fires_at_once_and_cooldown_zero_never_repeats() -> None:
    got = run([(t, BAD) for t in range(0, 20_000, 1000)] + [(20_000, GOOD)], for_s=0, cooldown_s=0)
    assert got == [(0, "firing"), (0, "notify:firing"), (20_000, "resolved"), (20_000, "notify:resolved")]


def test_state_round_trips_and_versions_bump() -> None:
    c1 = step(None, BAD, 0, 2, 4)
    assert c1 is not None and c1.new is not None
    assert AlertState.from_json(c1.new.to_json()) == c1.new
    c2 = step(c1.new, BAD, 2000, 2, 4)
    assert c2 is not None and c2.new is not None and c2.new.v == c1.new.v + 1 and c2.new.fired_ms == 2000
    # Firing with an unchanged value: nothing to write; a changed value is written (dashboard).
    assert step(c2.new, BAD, 2500, 2, 4) is None
    c3 = step(c2.new, Reading(0.4, 0.8, "<", 10, True, "breach"), 2500, 2, 4)
    assert c3 is not None and c3.notify is None and c3.new is not None and c3.new.value == 0.4
