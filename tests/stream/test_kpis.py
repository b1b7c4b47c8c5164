"""KPI formulas against hand-computed cases, and the fold's algebraic properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.config import KpiKnobs
from stream.events import Event
from stream.kpis import compute, event_deltas, fold, merge, service_level

K15 = KpiKnobs()
T = 1_795_310_100_000


def ev(etype: str, n: int = 0, **kw: object) -> Event:
    return Event(event_id=f"e{n}-{etype}", type=etype, ts_ms=T + n, call_id=f"c{n}", queue="q", **kw)  # type: ignore[arg-type]


def test_empty_window_has_no_rates() -> None:
    k = compute({}, K15)
    for name in ("answer_rate", "abandon_rate", "service_level", "asa_s", "aht_s", "max_wait_s"):
        assert k[name] is None, name
    assert k["offered"] == 0 and k["closed"] == 0


def test_hand_computed_window() -> None:
    """10 offered; 6 answered (waits 5, 10, 15, 15.001, 20, 40 s), 3 abandoned (2, 8, 60 s),
    1 overflowed (30 s); short abandon threshold 3 s; SL threshold 15 s.

    closed = 6 + 3 + 1 - 1 = 9; answered within 15 s = 3 (15 s counts, 15.001 s does not);
    abandoned within 15 s (not short) = 1 (the 8 s one).
    """
    knobs = KpiKnobs(sl_thresholds_s=(15,), short_abandon_s=3)
    evs = [ev("call_offered", i) for i in range(10)]
    evs += [
        ev("call_answered", i, agent_id="a", wait_ms=w)
        for i, w in enumerate([5000, 10000, 15000, 15001, 20000, 40000])
    ]
    evs += [ev("call_abandoned", 10 + i, wait_ms=w) for i, w in enumerate([2000, 8000, 60000])]
    evs += [ev("call_overflowed", 20, wait_ms=30000)]
    evs += [
        ev("call_ended", 30 + i, agent_id="a", talk_ms=100_000 + i * 1000, hold_ms=10_000) for i in range(4)
    ]
    evs += [ev("wrapup_ended", 40 + i, agent_id="a", acw_ms=20_000) for i in range(3)]
    c = fold(evs, knobs)
    k = compute(c, knobs)
    assert k["closed"] == 9
    assert k["answer_rate"] == 6 / 9
    assert k["abandon_rate"] == 2 / 9
    assert k["service_level"] == 3 / 9 == k["service_level_15"]
    assert service_level(c, 15, "ignored") == 3 / (9 - 1)
    assert service_level(c, 15, "positive") == (3 + 1) / 9
    assert service_level(c, 15, "answered_only") == 3 / 6
    assert k["asa_s"] == (5 + 10 + 15 + 15.001 + 20 + 40) * 1000 / 6000
    assert k["max_wait_s"] == 60.0
    # AHT = (talk 100+101+102+103 + hold 4*10 + acw 3*20) / 4 ended
    assert k["aht_s"] == (406_000 + 40_000 + 60_000) / 4000
    assert k["avg_acw_s"] == 20.0


@pytest.mark.parametrize(
    ("formula", "expected"),
    [("negative", 1 / 4), ("ignored", 1 / 3), ("positive", 2 / 4), ("answered_only", 1 / 2)],
)
def test_sl_formulas(formula: str, expected: float) -> None:
    # 2 answered (10 s, 30 s), 2 abandoned (5 s, 50 s); T = 20 s
    c = {"answered": 2, "abandoned": 2, "answered_within_20": 1, "abandoned_within_20": 1}
    assert service_level(c, 20, formula) == expected


def test_only_short_abandons_gives_no_rate_not_zero() -> None:
    knobs = KpiKnobs(short_abandon_s=5)
    c = fold([ev("call_abandoned", 1, wait_ms=1000), ev("call_abandoned", 2, wait_ms=4999)], knobs)
    k = compute(c, knobs)
    assert (k["abandoned"], k["short_abandoned"], k["closed"]) == (2, 2, 0)
    assert k["abandon_rate"] is None and k["service_level"] is None


def test_threshold_is_inclusive_and_short_is_exclusive() -> None:
    knobs = KpiKnobs(sl_thresholds_s=(15,), short_abandon_s=5)
    assert (
        event_deltas(ev("call_answered", agent_id="a", wait_ms=15000), knobs).sums["answered_within_15"] == 1
    )
    assert (
        "answered_within_15" not in event_deltas(ev("call_answered", agent_id="a", wait_ms=15001), knobs).sums
    )
    assert "short_abandoned" not in event_deltas(ev("call_abandoned", wait_ms=5000), knobs).sums
    assert event_deltas(ev("call_abandoned", wait_ms=4999), knobs).sums["short_abandoned"] == 1


def test_several_thresholds_side_by_side() -> None:
    knobs = KpiKnobs(sl_thresholds_s=(30, 15, 20))
    assert knobs.sl_thresholds_s == (15, 20, 30)
    k = compute(fold([ev("call_answered", 1, agent_id="a", wait_ms=18000)], knobs), knobs)
    assert (k["service_level_15"], k["service_level_20"], k["service_level_30"]) == (0.0, 1.0, 1.0)
    assert k["service_level"] == k["service_level_15"]


counters = st.dictionaries(
    st.sampled_from(["offered", "answered", "abandoned", "talk_ms", "max_wait_ms"]), st.integers(0, 10**9)
)


@given(counters, counters, counters)
def test_merge_is_associative_and_commutative(a: dict, b: dict, c: dict) -> None:
    assert merge(merge(a, b), c) == merge(a, merge(b, c))
    assert merge(a, b) == merge(b, a)


waits = st.integers(0, 200_000)
event_list = st.lists(
    st.one_of(
        waits.map(lambda w: ("call_answered", w)),
        waits.map(lambda w: ("call_abandoned", w)),
        waits.map(lambda w: ("call_overflowed", w)),
        st.just(("call_offered", 0)),
    ),
    max_size=40,
)


@given(event_list, st.integers(0, 40))
def test_merging_two_windows_equals_folding_both(items: list, cut: int) -> None:
    knobs = KpiKnobs(sl_thresholds_s=(15, 30), short_abandon_s=3)
    evs = [
        ev(t, i, agent_id="a", wait_ms=w) if t == "call_answered" else ev(t, i, wait_ms=w)
        for i, (t, w) in enumerate(items)
    ]
    assert merge(fold(evs[:cut], knobs), fold(evs[cut:], knobs)) == fold(evs, knobs)
    k = compute(fold(evs, knobs), knobs)
    for name in ("answer_rate", "abandon_rate", "service_level"):
        assert k[name] is None or 0.0 <= k[name] <= 1.0
