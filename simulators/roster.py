"""Who works when: agents from groups, and each day's log-in sessions and breaks.

A shift becomes one or more *sessions* (log-in .. log-out) once scenario ``staffing`` effects cut
absences out of it; breaks are scheduled from the shift start and staggered across the group so
that not everyone goes to lunch at once. Pure functions of the configuration, the day and a
``random.Random``: the engine turns the result into timed events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from simulators.calendar import at_local
from simulators.config import AgentGroup, CenterConfig, Effect


@dataclass(frozen=True, slots=True)
class AgentSpec:
    agent_id: str
    group: AgentGroup
    index: int  # position in the group, for staggering breaks

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(q for q, _ in self.group.skills)


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One agent's day: sessions ``[(login_ms, logout_ms)]`` and breaks ``[(at_ms, reason, len_ms)]``."""

    sessions: tuple[tuple[int, int], ...]
    breaks: tuple[tuple[int, str, int], ...]


def agents_of(center: CenterConfig) -> list[AgentSpec]:
    """Every agent of the center, ids ``{group}-{n:03d}`` (1-based), in configuration order."""
    return [AgentSpec(f"{g.name}-{i + 1:03d}", g, i) for g in center.agents for i in range(g.count)]


def _subtract(span: tuple[int, int], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``span`` minus the union of ``cuts`` (half-open intervals)."""
    pieces = [span]
    for c0, c1 in sorted(cuts):
        nxt = []
        for a, b in pieces:
            if c1 <= a or c0 >= b:
                nxt.append((a, b))
                continue
            if a < c0:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        pieces = nxt
    return pieces


def plan_day(
    agent: AgentSpec,
    day: date,
    tz: ZoneInfo,
    staffing: tuple[Effect, ...],
    rng: random.Random,
    seed_key: str,
) -> DayPlan | None:
    """The agent's sessions and breaks for the shift that starts on local ``day`` (None: day off).

    ``rng`` draws the same numbers whatever the effects, and who is absent comes from its own
    stream keyed by ``seed_key``, agent and day, so a scenario changes only what it should: the
    same seed gives the same log-in times with or without it.
    """
    g = agent.group
    jitter = rng.uniform(-0.5, 1.0) * g.login_jitter_s  # most agents log in a little late
    out_jitter = rng.uniform(0.0, 0.5) * g.login_jitter_s
    absent_draws = [
        random.Random(f"{seed_key}|absent|{agent.agent_id}|{day.isoformat()}|{i}").random()  # noqa: S311
        for i in range(len(staffing))
    ]
    if day.weekday() not in g.days:
        return None
    start = at_local(day, g.shift_start_min, tz) + round(jitter * 1000)
    end = at_local(day, g.shift_end_min, tz) + round(out_jitter * 1000)
    cuts = []
    skills = set(agent.queues)
    for eff, u in zip(staffing, absent_draws, strict=True):
        if u >= 1.0 - eff.factor or (eff.queues is not None and not skills.intersection(eff.queues)):
            continue
        for d in (day, day + timedelta(days=1)):  # a night shift reaches into the next day
            cuts.append((at_local(d, eff.start_min, tz), at_local(d, eff.end_min, tz)))
    sessions = tuple(s for s in _subtract((start, end), cuts) if s[1] > s[0])
    breaks = []
    share = agent.index / g.count if g.count else 0.0
    shift_start = at_local(day, g.shift_start_min, tz)
    for b in g.breaks:
        at = shift_start + round((b.after_s + share * b.spread_s) * 1000)
        breaks.append((at, b.reason, round(b.length_s * 1000)))
    return DayPlan(sessions, tuple(breaks))
