"""Acceptance 4: each shipped scenario visibly moves the KPIs it should.

A scaled-down base center (a tenth of the volume and of the agents: ~57 agents, a few thousand
calls) is simulated over a window around each scenario, once without and once with it, with the
same seed (so everything before the scenario starts is identical). The events go through the real
pipeline (Tansu -> worker -> Redis, the ``pipeline`` fixture) and the KPIs read back are compared;
a naive in-test fold checks the same on the raw events without the pipeline.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from simulators import generate, load_center, load_scenario
from simulators.calendar import at_local
from tests.pipeline import Pipeline
from tests.simulators.kpis import interval_kpis, summarise

DAY = date(2026, 11, 25)  # a Wednesday
SEED = 4
SCALE = 0.1
# scenario -> (simulated window, scenario window, queues judged) in local clock minutes
CASES: dict[str, tuple[tuple[int, int], tuple[int, int], str | None]] = {
    "network_outage": ((9 * 60, 11 * 60), (10 * 60, 10 * 60 + 45), "broadband"),
    "agent_no_show": ((8 * 60, 11 * 60), (9 * 60, 11 * 60), None),
    "system_slowdown": ((13 * 60, 16 * 60), (14 * 60, 16 * 60), None),
}

#: Least fall of service level and rise of the abandon rate (fractions) each scenario must cause.
MOVES = {"network_outage": (0.2, 0.1), "agent_no_show": (0.08, 0.04), "system_slowdown": (0.08, 0.02)}


def _events(name: str, with_scenario: bool, tenant: str) -> tuple[list[dict[str, Any]], int, int]:
    center = load_center("base").scaled(SCALE).renamed(tenant)
    if with_scenario:
        center = center.with_scenarios(load_scenario(name))
    (sim0, sim1), (win0, win1), _ = CASES[name]
    tz = center.tz
    start = at_local(DAY, sim0, tz)
    events = list(generate(center, seed=SEED, start=start, duration=(sim1 - sim0) * 60))
    return events, at_local(DAY, win0, tz), at_local(DAY, win1, tz)


def _assert_moved(name: str, base: dict[str, Any], scen: dict[str, Any]) -> None:
    """The direction and rough size each scenario should have on its window."""
    sl_drop, abandon_rise = MOVES[name]
    assert scen["service_level"] < base["service_level"] - sl_drop, (name, base, scen)
    assert scen["abandon_rate"] > base["abandon_rate"] + abandon_rise, (name, base, scen)
    if name == "network_outage":
        assert scen["offered"] > 2.0 * base["offered"], (base, scen)
    if name == "system_slowdown":
        assert scen["aht_s"] > 1.25 * base["aht_s"], (base, scen)


@pytest.mark.parametrize("name", sorted(CASES))
def test_scenario_moves_kpis_in_the_raw_events(name: str) -> None:
    base_ev, w0, w1 = _events(name, False, "local")
    scen_ev, _, _ = _events(name, True, "local")
    queue = CASES[name][2]
    # Identical before the scenario starts: same seed, and the scenario changes nothing earlier.
    assert [e for e in base_ev if e["ts"] < w0] == [e for e in scen_ev if e["ts"] < w0]
    interval = 15 * 60_000
    base = summarise(interval_kpis(base_ev, interval), queue, w0, w1)
    scen = summarise(interval_kpis(scen_ev, interval), queue, w0, w1)
    print(
        f"{name}: SL {base['service_level']:.3f} -> {scen['service_level']:.3f}, "
        f"abandon {base['abandon_rate']:.3f} -> {scen['abandon_rate']:.3f}"
    )
    _assert_moved(name, base, scen)


@pytest.mark.slow
def test_scenarios_move_kpis_through_the_pipeline(pipeline: Pipeline, unique: str) -> None:
    runs = {}
    feed: list[dict[str, Any]] = []
    for name in sorted(CASES):
        for with_scenario in (False, True):
            tenant = f"s{unique}{name[:6]}{int(with_scenario)}"
            events, w0, w1 = _events(name, with_scenario, tenant)
            runs[name, with_scenario] = (tenant, w0, w1)
            feed.extend(events)
    pipeline.feed(feed, batch=50)
    for name in sorted(CASES):
        queue = CASES[name][2]
        tenant_b, w0, w1 = runs[name, False]
        tenant_s, _, _ = runs[name, True]
        base = pipeline.totals(tenant_b, queue, w0, w1)
        scen = pipeline.totals(tenant_s, queue, w0, w1)
        before_b = pipeline.totals(tenant_b, queue, w0 - 3_600_000, w0)
        before_s = pipeline.totals(tenant_s, queue, w0 - 3_600_000, w0)
        assert before_b["offered"] > 0
        assert before_b["offered"] == before_s["offered"]
        assert before_b["service_level"] == before_s["service_level"]
        print(
            f"{name}: SL {base['service_level']:.3f} -> {scen['service_level']:.3f}, "
            f"abandon {base['abandon_rate']:.3f} -> {scen['abandon_rate']:.3f}, "
            f"offered {base['offered']} -> {scen['offered']}, "
            f"AHT {base['aht_s']:.0f} -> {scen['aht_s']:.0f} s"
        )
        _assert_moved(name, base, scen)
