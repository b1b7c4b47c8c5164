"""The KPI arithmetic, pure: events in -> integer counters; counters in -> ratios out.

This module is the single source of every formula (docs/kpis.md says the same in prose, and the
dashboard's definitions page is rendered from :data:`DEFINITIONS`). No I/O, no clock.

The fold has three parts, like a textbook aggregator:

* :func:`event_deltas` — what one event adds to the window it falls in (its *delta*);
* :func:`merge` — how two windows combine (sums add, maxima take the larger);
* :func:`compute` — ratios from the counters; a zero denominator gives ``None`` ("no data").

Counters are integers (durations in milliseconds) so that Redis sums are exact and any window
can be summed and any ratio recomputed, whatever the order or batching of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple

from stream.config import KpiKnobs
from stream.events import QUEUE_EXITS, Event

Counts = dict[str, int]
MAX_PREFIX = "max_"  # counters named max_* combine by maximum, all others by sum

#: Counters that every window carries (threshold-specific ones are added per threshold T).
BASE_COUNTERS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "wait_ms_answered",
    "wait_ms_abandoned",
    "wait_ms_overflowed",
    "max_wait_ms",
    "ended",
    "talk_ms",
    "hold_ms",
    "wrapups",
    "acw_ms",
)


def within_key(kind: str, threshold_s: int) -> str:
    """Counter name of calls answered/abandoned with wait <= T: ``answered_within_15``."""
    return f"{kind}_within_{threshold_s}"


class Delta(NamedTuple):
    """What one event adds: ``sums`` are added, ``maxes`` are maxed."""

    sums: Counts
    maxes: Counts


@lru_cache(maxsize=64)
def _within(thresholds_s: tuple[int, ...]) -> tuple[tuple[int, str, str], ...]:
    """(T in ms, "answered_within_T", "abandoned_within_T") per threshold, named once."""
    return tuple((th * 1000, within_key("answered", th), within_key("abandoned", th)) for th in thresholds_s)


def accumulate(ev: Event, knobs: KpiKnobs, sums: Counts, maxes: Counts) -> None:
    """Add what one event contributes to its window into ``sums`` and ``maxes``, in place.

    The attribution rules of docs/kpis.md: ``call_offered`` counts at the offer; queue exits
    (answered, abandoned, overflowed) count at the exit with their ``wait``; talk and hold at
    ``call_ended``; wrap-up at ``wrapup_ended``; ``agent_state`` adds no counters (it feeds
    live state only). In place, without a dict per event: the worker folds 100k events/s here.
    """
    t = ev.type
    if t == "call_offered":
        sums["offered"] = sums.get("offered", 0) + 1
        return
    if t == "call_ended":
        sums["ended"] = sums.get("ended", 0) + 1
        sums["talk_ms"] = sums.get("talk_ms", 0) + (ev.talk_ms or 0)
        sums["hold_ms"] = sums.get("hold_ms", 0) + ev.hold_ms
        return
    if t == "wrapup_ended":
        sums["wrapups"] = sums.get("wrapups", 0) + 1
        sums["acw_ms"] = sums.get("acw_ms", 0) + (ev.acw_ms or 0)
        return
    if t not in QUEUE_EXITS:
        return
    w = ev.wait_ms or 0
    if maxes.get("max_wait_ms", -1) < w:
        maxes["max_wait_ms"] = w
    if t == "call_answered":
        sums["answered"] = sums.get("answered", 0) + 1
        sums["wait_ms_answered"] = sums.get("wait_ms_answered", 0) + w
        for th_ms, answered_within, _ in _within(knobs.sl_thresholds_s):
            if w <= th_ms:
                sums[answered_within] = sums.get(answered_within, 0) + 1
    elif t == "call_abandoned":
        sums["abandoned"] = sums.get("abandoned", 0) + 1
        sums["wait_ms_abandoned"] = sums.get("wait_ms_abandoned", 0) + w
        if w < knobs.short_abandon_s * 1000:
            sums["short_abandoned"] = sums.get("short_abandoned", 0) + 1
        else:
            for th_ms, _, abandoned_within in _within(knobs.sl_thresholds_s):
                if w <= th_ms:
                    sums[abandoned_within] = sums.get(abandoned_within, 0) + 1
    else:
        sums["overflowed"] = sums.get("overflowed", 0) + 1
        sums["wait_ms_overflowed"] = sums.get("wait_ms_overflowed", 0) + w


def event_deltas(ev: Event, knobs: KpiKnobs) -> Delta:
    """The counters one event adds to its window (the rules are in :func:`accumulate`)."""
    sums: Counts = {}
    maxes: Counts = {}
    accumulate(ev, knobs, sums, maxes)
    return Delta(sums, maxes)


def merge(a: Mapping[str, int], b: Mapping[str, int]) -> Counts:
    """Combine two windows' counters: sums add, ``max_*`` take the larger. Associative."""
    out = dict(a)
    for k, v in b.items():
        if k.startswith(MAX_PREFIX):
            out[k] = max(out.get(k, v), v)
        else:
            out[k] = out.get(k, 0) + v
    return out


def fold(events: Iterable[Event], knobs: KpiKnobs) -> Counts:
    """All events' deltas merged into one window (the in-memory reference for the store)."""
    acc: Counts = {}
    for ev in events:
        d = event_deltas(ev, knobs)
        acc = merge(merge(acc, d.sums), d.maxes)
    return acc


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or ``None`` when the denominator is zero: no data is not 0 % or 100 %."""
    return num / den if den else None


def service_level(c: Mapping[str, int], threshold_s: int, formula: str) -> float | None:
    """Service level at threshold T under one of the four formulas of docs/kpis.md."""
    ans_le = c.get(within_key("answered", threshold_s), 0)
    abn_le = c.get(within_key("abandoned", threshold_s), 0)
    closed = closed_calls(c)
    if formula == "negative":
        return ratio(ans_le, closed)
    if formula == "ignored":
        return ratio(ans_le, closed - abn_le)
    if formula == "positive":
        return ratio(ans_le + abn_le, closed)
    if formula == "answered_only":
        return ratio(ans_le, c.get("answered", 0))
    msg = f"unknown sl_formula {formula!r}"
    raise ValueError(msg)


def closed_calls(c: Mapping[str, int]) -> int:
    """Calls that left the queue, short abandons excluded: answered + abandoned + overflowed − short."""
    return c.get("answered", 0) + c.get("abandoned", 0) + c.get("overflowed", 0) - c.get("short_abandoned", 0)


def compute(c: Mapping[str, int], knobs: KpiKnobs) -> dict[str, float | int | None]:
    """Every KPI of a window from its counters (field names are those of docs/kpis.md)."""
    answered = c.get("answered", 0)
    abandoned = c.get("abandoned", 0)
    short = c.get("short_abandoned", 0)
    ended = c.get("ended", 0)
    closed = closed_calls(c)
    handle_ms = c.get("talk_ms", 0) + c.get("hold_ms", 0) + c.get("acw_ms", 0)
    out: dict[str, float | int | None] = {
        "offered": c.get("offered", 0),
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "overflowed": c.get("overflowed", 0),
        "closed": closed,
        "ended": ended,
        "wrapups": c.get("wrapups", 0),
        "answer_rate": ratio(answered, closed),
        "abandon_rate": ratio(abandoned - short, closed),
        "asa_s": ratio(c.get("wait_ms_answered", 0), answered * 1000),
        "max_wait_s": (c["max_wait_ms"] / 1000) if "max_wait_ms" in c else None,
        "aht_s": ratio(handle_ms, ended * 1000),
        "avg_talk_s": ratio(c.get("talk_ms", 0), ended * 1000),
        "avg_hold_s": ratio(c.get("hold_ms", 0), ended * 1000),
        "avg_acw_s": ratio(c.get("acw_ms", 0), c.get("wrapups", 0) * 1000),
    }
    for i, th in enumerate(knobs.sl_thresholds_s):
        sl = service_level(c, th, knobs.sl_formula)
        out[f"service_level_{th}"] = sl
        out[within_key("answered", th)] = c.get(within_key("answered", th), 0)
        out[within_key("abandoned", th)] = c.get(within_key("abandoned", th), 0)
        if i == 0:
            out["service_level"] = sl  # the primary (first, i.e. smallest) threshold
    return out


#: One line per KPI for docs/kpis.md and the dashboard's definitions page: (key, en, zh, formula).
DEFINITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("offered", "Calls offered", "呼入量", "count of call_offered in the window"),
    ("answered", "Answered", "接通量", "count of call_answered (at answer time)"),
    ("abandoned", "Abandoned", "放弃量", "count of call_abandoned (at abandon time)"),
    ("short_abandoned", "Short abandons", "速挂", "abandoned with wait_s < short_abandon_s"),
    ("overflowed", "Overflowed", "溢出", "count of call_overflowed (left the queue unanswered)"),
    ("closed", "Closed calls", "结束量", "answered + abandoned + overflowed − short_abandoned"),
    ("answer_rate", "Answer rate", "接通率", "answered / closed"),
    (
        "service_level_T",
        "Service level (T s)",
        "T秒接通率",
        "negative: answered_within_T / closed; ignored: answered_within_T / (closed − "
        "abandoned_within_T); positive: (answered_within_T + abandoned_within_T) / closed; "
        "answered_only: answered_within_T / answered",
    ),
    ("abandon_rate", "Abandonment rate", "放弃率", "(abandoned − short_abandoned) / closed"),
    ("asa_s", "Average speed of answer", "平均应答速度", "Σ wait of answered / answered (seconds)"),
    ("max_wait_s", "Longest wait", "最长等待", "max wait over answered, abandoned and overflowed"),
    (
        "aht_s",
        "Average handle time",
        "平均处理时长",
        "(Σ talk + Σ hold of call_ended + Σ acw of wrapup_ended) / count of call_ended",
    ),
    ("avg_talk_s", "Average talk time", "平均通话时长", "Σ talk / count of call_ended"),
    ("avg_hold_s", "Average hold time", "平均保持时长", "Σ hold / count of call_ended"),
    ("avg_acw_s", "Average wrap-up", "平均话后整理", "Σ acw / count of wrapup_ended"),
    ("waiting", "Calls waiting", "排队数", "calls offered and not yet answered/abandoned/overflowed"),
    ("oldest_wait_s", "Oldest call waiting", "最长等待时长", "now − offer time of the oldest waiting call"),
)
