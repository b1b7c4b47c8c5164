"""The simulator's Python API: ``generate`` (simulated time, fast) and ``run_live`` (paced output).

Start times and durations are accepted in the forms people type: ``"now"``, an aware datetime or
RFC 3339 text, a local date ``"2026-11-23"`` (midnight in the tenant's zone), epoch ms; ``"1d"``,
``"3h30m"``, seconds, a ``timedelta``, or ``None``/``"forever"``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.calendar import at_local, to_ms
from simulators.config import CenterConfig, parse_duration
from simulators.engine import Simulation
from simulators.output import DEFAULT_TOPIC, JsonlSink, KafkaSink, Progress, Sink, pump
from stream.errors import ConfigError

Start = int | datetime | date | str
Duration = int | float | timedelta | str | None


def parse_start(value: Start, center: CenterConfig, *, now_ms: int | None = None) -> int:
    """Epoch ms of a start given as ``now``, epoch ms, an aware datetime, RFC 3339 or a local date.

    A date or a date-time without an offset is read in the tenant's time zone.
    """
    tz = center.tz
    if isinstance(value, bool):
        msg = f"start: expected a time, got {value!r}"
        raise ConfigError(msg)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return to_ms(value if value.tzinfo else value.replace(tzinfo=tz))
    if isinstance(value, date):
        return at_local(value, 0, tz)
    text = str(value).strip()
    if text == "now":
        return now_ms if now_ms is not None else int(time.time() * 1000)
    if text in ("today", "tomorrow"):
        d = datetime.now(tz).date() + timedelta(days=1 if text == "tomorrow" else 0)
        return at_local(d, 0, tz)
    try:
        if len(text) == 10:
            return at_local(date.fromisoformat(text), 0, tz)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        msg = f"start: expected now, today, YYYY-MM-DD or an RFC 3339 time, got {value!r}"
        raise ConfigError(msg) from e
    return to_ms(dt if dt.tzinfo else dt.replace(tzinfo=tz))


def parse_run_duration(value: Duration) -> int | None:
    """Milliseconds, or None for forever."""
    if value is None or value in ("forever", "inf", ""):
        return None
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    return round(parse_duration(value, "duration") * 1000)


def simulation(
    center: CenterConfig, seed: int = 0, start: Start = "now", duration: Duration = "1d"
) -> Simulation:
    """A :class:`~simulators.engine.Simulation` (iterate ``.events()``; ``.stats`` counts calls)."""
    return Simulation(center, seed, parse_start(start, center), parse_run_duration(duration))


def generate(
    center: CenterConfig, seed: int = 0, start: Start = "now", duration: Duration = "1d"
) -> Iterator[dict[str, Any]]:
    """Events of ``center`` from ``start`` for ``duration``, in simulated time (as fast as possible).

    Deterministic: the same center, seed and start give the same events, ids included.
    """
    return simulation(center, seed, start, duration).events()


def make_sink(
    broker: str | None, topic: str = DEFAULT_TOPIC, out: str | Path | None = None, batch: int = 1
) -> Sink:
    """Kafka if ``broker`` is given, else a JSON Lines file (``-`` for standard output)."""
    if broker and out:
        msg = "give a broker or an output file, not both"
        raise ConfigError(msg)
    if broker:
        return KafkaSink(broker, topic, batch=batch)
    return JsonlSink(out or "-")


async def run_live(
    center: CenterConfig,
    seed: int = 0,
    *,
    broker: str | None = None,
    topic: str = DEFAULT_TOPIC,
    out: str | Path | None = None,
    speed: float | None = 1.0,
    start: Start = "now",
    duration: Duration = None,
    batch: int = 1,
    progress_every: float | None = 60.0,
) -> int:
    """Simulate and publish as time passes: ``speed`` 1 is real time, N is ×N, None flat out.

    Events are stamped with simulated time; at ×1 from ``now`` that is the wall clock. Returns the
    number of events sent (a ``duration`` of None runs until cancelled).
    """
    sim = simulation(center, seed, start, duration)
    sink = make_sink(broker, topic, out, batch)
    progress = None
    if progress_every is not None:
        end = None if sim.until == float("inf") else sim.until
        progress = Progress(center.tz, end, sim.start, every=progress_every, stats=sim.stats)
    try:
        return await pump(sim.events(), sink, speed=speed, ts0=sim.start, progress=progress)
    finally:
        await sink.close()
