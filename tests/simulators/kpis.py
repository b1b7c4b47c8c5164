"""A tiny reference fold of interval KPIs from wire events, for checking the simulator's output
without the pipeline (the real KPI code lives in stream/; this one is deliberately naive)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

SL_THRESHOLD_S = 20.0


def interval_kpis(
    events: Iterable[Mapping[str, Any]], interval_ms: int = 1_800_000, threshold_s: float = SL_THRESHOLD_S
) -> dict[tuple[str, int], dict[str, float]]:
    """(queue, interval start ms) -> counts and ratios. SL = answered within threshold / offered
    exits (answered + abandoned + overflowed), all bucketed by the queue-exit time."""
    rows: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for ev in events:
        t = ev["type"]
        if t == "agent_state":
            continue
        key = (ev["queue"], ev["ts"] - ev["ts"] % interval_ms)
        r = rows[key]
        if t == "call_offered":
            r["offered"] += 1
        elif t == "call_answered":
            r["answered"] += 1
            r["wait_s"] += ev["wait_s"]
            if ev["wait_s"] <= threshold_s:
                r["answered_in_sl"] += 1
        elif t == "call_abandoned":
            r["abandoned"] += 1
        elif t == "call_overflowed":
            r["overflowed"] += 1
        elif t == "call_ended":
            r["ended"] += 1
            r["talk_s"] += ev["talk_s"] + ev["hold_s"]
        elif t == "wrapup_ended":
            r["acw_s"] += ev["acw_s"]
    return {k: dict(v) for k, v in rows.items()}


def summarise(
    rows: Mapping[tuple[str, int], Mapping[str, float]],
    queue: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> dict[str, float | None]:
    """Sum rows (optionally one queue and a time range) and compute SL, abandon rate, ASA, AHT."""
    tot: dict[str, float] = defaultdict(float)
    for (q, t0), r in rows.items():
        if (
            (queue is None or q == queue)
            and (start_ms is None or t0 >= start_ms)
            and (end_ms is None or t0 < end_ms)
        ):
            for k, v in r.items():
                tot[k] += v
    exits = tot["answered"] + tot["abandoned"] + tot["overflowed"]
    return {
        "offered": tot["offered"],
        "answered": tot["answered"],
        "abandoned": tot["abandoned"],
        "service_level": tot["answered_in_sl"] / exits if exits else None,
        "abandon_rate": tot["abandoned"] / exits if exits else None,
        "asa_s": tot["wait_s"] / tot["answered"] if tot["answered"] else None,
        "aht_s": (tot["talk_s"] + tot["acw_s"]) / tot["ended"] if tot["ended"] else None,
    }
