"""Window arithmetic: local alignment, [start, end) boundaries, DST, business days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from stream.windows import (
    business_day,
    day_bounds,
    interval_start,
    intervals_between,
    minute_start,
    rolling_minutes,
)

SH = ZoneInfo("Asia/Shanghai")
KTM = ZoneInfo("Asia/Kathmandu")  # +05:45
NY = ZoneInfo("America/New_York")


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_boundary_event_belongs_to_the_later_interval() -> None:
    assert interval_start(ms("2026-11-22T09:15:00+08:00"), SH, 15) == ms("2026-11-22T09:15:00+08:00")
    assert interval_start(ms("2026-11-22T09:14:59.999+08:00"), SH, 15) == ms("2026-11-22T09:00:00+08:00")


def test_intervals_align_to_local_clock_in_a_quarter_hour_zone() -> None:
    # 09:20 local in Kathmandu is 03:35 UTC: the local 09:15 interval starts at 03:30 UTC.
    assert interval_start(ms("2026-11-22T09:20:00+05:45"), KTM, 15) == ms("2026-11-22T09:15:00+05:45")
    assert interval_start(ms("2026-11-22T09:50:00+05:45"), KTM, 60) == ms("2026-11-22T09:00:00+05:45")


def test_business_day_with_a_late_start_hour() -> None:
    t = ms("2026-11-22T05:59:59+08:00")
    assert business_day(t, SH, 0) == date(2026, 11, 22)
    assert business_day(t, SH, 6) == date(2026, 11, 21)  # a night shift belongs to yesterday
    assert business_day(ms("2026-11-22T06:00:00+08:00"), SH, 6) == date(2026, 11, 22)


def test_day_bounds_across_dst_are_23_and_25_hours() -> None:
    s, e = day_bounds(date(2026, 3, 8), NY)  # spring forward
    assert (e - s) == 23 * 3_600_000
    s, e = day_bounds(date(2026, 11, 1), NY)  # fall back
    assert (e - s) == 25 * 3_600_000


def test_intervals_between_cover_a_dst_day_without_gaps() -> None:
    s, e = day_bounds(date(2026, 11, 1), NY)
    spans = list(intervals_between(s, e, NY, 15))
    assert len(spans) == 25 * 4
    assert spans[0][0] == s and spans[-1][1] == e
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_rolling_minutes_are_the_current_and_previous_ones() -> None:
    now = ms("2026-11-22T09:15:30+08:00")
    mins = rolling_minutes(now, 5)
    assert mins[-1] == minute_start(now) and mins[0] == minute_start(now) - 4 * 60_000


@given(
    st.integers(946_684_800_000, 4_102_444_799_999),
    st.sampled_from([15, 30, 60]),
    st.sampled_from([SH, KTM, NY, ZoneInfo("UTC")]),
)
def test_interval_contains_its_instant(ts: int, minutes: int, tz: ZoneInfo) -> None:
    s = interval_start(ts, tz, minutes)
    (span,) = [sp for sp in intervals_between(ts, ts + 1, tz, minutes)]
    assert span[0] == s <= ts < span[1]
