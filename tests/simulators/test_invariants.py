"""Acceptance 1: the event stream is consistent, over random configurations (hypothesis).

Every answer, abandon or overflow follows its offer; talk follows answer; wrap-up follows talk;
an agent handles one call at a time and only while logged in and not in aux; time never goes
backwards; every event is a valid v1 event with a unique id (rules in simulators/invariants.py).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators import generate, load_center, load_scenario
from simulators.config import center_from_dict
from simulators.invariants import check

QUEUES = ["q0", "q1", "q2"]
ZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"]
# Days around DST changes (Europe 2026-03-29 and 10-25, US 03-08 and 11-01) and ordinary days.
DAYS = ["2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01", "2026-11-23", "2026-11-28"]


def _dist(draw: st.DrawFn, lo: float, hi: float) -> dict[str, Any]:
    kind = draw(st.sampled_from(["lognormal", "exponential", "gamma", "constant"]))
    return {"dist": kind, "mean": draw(st.floats(lo, hi)), "cv": draw(st.floats(0.2, 2.0))}


def _clock(draw: st.DrawFn) -> str:
    return f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 15, 30, 45])):02d}"


@st.composite
def centers(draw: st.DrawFn) -> dict[str, Any]:
    names = QUEUES[: draw(st.integers(1, 3))]
    queues: dict[str, Any] = {}
    for name in names:
        q: dict[str, Any] = {
            "calls_per_day": draw(st.floats(200, 30_000)),
            "talk": _dist(draw, 5, 600),
            "hold": _dist(draw, 1, 120),
            "hold_prob": draw(st.floats(0, 1)),
            "acw": _dist(draw, 0, 120),
            "patience": draw(
                st.one_of(
                    st.just("never"),
                    st.builds(lambda m: {"dist": "exponential", "mean": m}, st.floats(1, 600)),
                )
            ),  # fmt: skip
            "redial_prob": draw(st.floats(0, 1)),
            "redial_delay": {"dist": "exponential", "mean": draw(st.floats(1, 600))},
            "priority": draw(st.integers(0, 3)),
        }
        if draw(st.booleans()):
            q["overflow"] = {"after": draw(st.integers(0, 300))}
            if draw(st.booleans()):
                q["overflow"]["to"] = draw(st.sampled_from(names))
        if draw(st.booleans()):
            q["transfer"] = {"prob": draw(st.floats(0, 0.5)), "to": draw(st.sampled_from(names))}
        queues[name] = q
    agents = []
    for i in range(draw(st.integers(1, 4))):
        skills = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
        agents.append(
            {
                "group": f"g{i}",
                "count": draw(st.integers(0, 8)),
                "skills": {s: draw(st.integers(1, 3)) for s in skills},
                "shift": f"{_clock(draw)}-{_clock(draw)}",
                "login_jitter": draw(st.integers(0, 900)),
                "breaks": [
                    {
                        "reason": draw(st.sampled_from(["break", "lunch", "training"])),
                        "after": draw(st.integers(0, 6 * 3600)),
                        "length": draw(st.integers(0, 3600)),
                        "spread": draw(st.integers(0, 3600)),
                    }
                    for _ in range(draw(st.integers(0, 3)))
                ],  # fmt: skip
                "aux": {"per_hour": draw(st.floats(0, 4)), "reasons": {"restroom": 2, "system": 1}},
            }
        )
    effects = [
        {
            "kind": draw(st.sampled_from(["volume", "staffing", "handle_time", "patience"])),
            "factor": draw(st.floats(0, 1)) if k == 0 else draw(st.floats(0, 3)),
            "start": _clock(draw),
            "duration": f"{draw(st.integers(1, 240))}m",
        }
        for k in range(draw(st.integers(0, 2)))
    ]
    for e in effects:
        if e["kind"] == "staffing":
            e["factor"] = min(e["factor"], 1.0)
    return {
        "tenant": "prop",
        "timezone": draw(st.sampled_from(ZONES)),
        "profile": draw(st.sampled_from(["default", "flat"])),
        "queues": queues,
        "agents": agents,
        "effects": effects,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=centers(),
    seed=st.integers(0, 2**32),
    day=st.sampled_from(DAYS),
    start_hour=st.integers(0, 23),
    hours=st.integers(1, 6),
)
def test_random_centers_emit_consistent_streams(
    doc: dict, seed: int, day: str, start_hour: int, hours: int
) -> None:
    center = center_from_dict(doc)
    events = list(generate(center, seed=seed, start=f"{day}T{start_hour:02d}:00:00", duration=f"{hours}h"))
    report = check(events)
    assert report.ok, report.violations[:5]


def test_base_center_with_every_scenario_is_consistent() -> None:
    center = load_center("base").scaled(0.3)
    for name in (None, "network_outage", "agent_no_show", "system_slowdown"):
        c = center if name is None else center.with_scenarios(load_scenario(name))
        report = check(generate(c, seed=3, start="2026-11-23T06:00:00+08:00", duration="20h"))
        assert report.ok, (name, report.violations[:5])
        assert report.counts["call_answered"] > 5_000
        assert report.counts["call_abandoned"] > 0


def _ok_stream() -> list[dict]:
    base = {"tenant": "x", "queue": "q"}
    return [
        {"event_id": "1", "type": "agent_state", "ts": 1_795_000_000_000, "tenant": "x", "agent_id": "a",
         "state": "available"},
        {"event_id": "2", "type": "call_offered", "ts": 1_795_000_001_000, "call_id": "c", **base},
        {"event_id": "3", "type": "call_answered", "ts": 1_795_000_003_000, "call_id": "c", "agent_id": "a",
         "wait_s": 2.0, **base},
        {"event_id": "4", "type": "agent_state", "ts": 1_795_000_003_000, "tenant": "x", "agent_id": "a",
         "state": "on_call"},
        {"event_id": "5", "type": "call_ended", "ts": 1_795_000_013_000, "call_id": "c", "agent_id": "a",
         "talk_s": 8.0, "hold_s": 2.0, **base},
        {"event_id": "6", "type": "agent_state", "ts": 1_795_000_013_000, "tenant": "x", "agent_id": "a",
         "state": "wrap_up"},
        {"event_id": "7", "type": "wrapup_ended", "ts": 1_795_000_018_000, "call_id": "c", "agent_id": "a",
         "acw_s": 5.0, **base},
        {"event_id": "8", "type": "agent_state", "ts": 1_795_000_018_000, "tenant": "x", "agent_id": "a",
         "state": "available"},
    ]  # fmt: skip


def test_checker_accepts_a_good_stream_and_catches_broken_ones() -> None:
    assert check(_ok_stream()).ok
    answer_first = _ok_stream()
    answer_first[1], answer_first[2] = answer_first[2], answer_first[1]
    answer_first[1]["ts"] = answer_first[2]["ts"]
    in_aux = _ok_stream()
    in_aux.insert(1, {**in_aux[0], "event_id": "1b", "state": "aux", "reason": "lunch"})
    backwards = _ok_stream()
    backwards[4]["ts"] = 1_795_000_000_500
    dup = _ok_stream()
    dup[3]["event_id"] = "1"
    wrong_wait = _ok_stream()
    wrong_wait[2]["wait_s"] = 1.0
    double = _ok_stream()
    double[1:1] = [{**double[1], "event_id": "2b", "call_id": "d"}]
    double.insert(5, {**double[3], "event_id": "3b", "call_id": "d"})  # answered by a busy agent
    for broken in (answer_first, in_aux, backwards, dup, wrong_wait, double):
        assert not check(broken).ok
