"""Window arithmetic in the tenant's local clock: pure functions of timestamps, no ``now()``.

A window is ``[start, end)``: an event exactly at a boundary belongs to the later window.
Intervals (15/30/60 min) are aligned to the tenant's *local* clock, so a +05:45 zone gets
intervals at :00/:15 local time, not UTC. Across a DST change the local offset is taken at the
event's instant; interval lengths divide the hour, and zones change offset on whole hours or
half hours, so interval boundaries stay well defined.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def _offset_ms(ts_ms: int, tz: tzinfo) -> int:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz)
    off = dt.utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def interval_start(ts_ms: int, tz: tzinfo, minutes: int) -> int:
    """Epoch ms of the start of the local interval that contains ``ts_ms``."""
    off = _offset_ms(ts_ms, tz)
    local = ts_ms + off
    length = minutes * MINUTE_MS
    return local - local % length - off


def minute_start(ts_ms: int) -> int:
    """Epoch ms of the start of the minute (offsets are whole minutes, so this is local too)."""
    return ts_ms - ts_ms % MINUTE_MS


def hour_start(ts_ms: int) -> int:
    return ts_ms - ts_ms % HOUR_MS


def business_day(ts_ms: int, tz: tzinfo, day_start_hour: int = 0) -> date:
    """The tenant's "today" for an instant: the local date, shifted when days start at e.g. 06:00."""
    local = datetime.fromtimestamp(ts_ms / 1000, tz)
    return (local - timedelta(hours=day_start_hour)).date()


def day_bounds(day: date, tz: tzinfo, day_start_hour: int = 0) -> tuple[int, int]:
    """``[start, end)`` in epoch ms of a business day (23 or 25 hours long across DST)."""
    start = datetime(day.year, day.month, day.day, day_start_hour, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, day_start_hour, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def intervals_between(start_ms: int, end_ms: int, tz: tzinfo, minutes: int) -> Iterator[tuple[int, int]]:
    """The local intervals ``[s, e)`` that overlap ``[start_ms, end_ms)``, in order."""
    s = interval_start(start_ms, tz, minutes)
    length = minutes * MINUTE_MS
    while s < end_ms:
        # The next boundary is one length later in local time: recompute across offset changes.
        e = interval_start(s + length, tz, minutes)
        if e <= s:  # pragma: no cover - defensive, would mean a broken zone database
            e = s + length
        yield s, e
        s = e


def rolling_minutes(now_ms: int, minutes: int) -> list[int]:
    """Minute buckets of the rolling window "last N minutes": the current minute and N-1 before."""
    cur = minute_start(now_ms)
    return [cur - i * MINUTE_MS for i in range(minutes - 1, -1, -1)]
