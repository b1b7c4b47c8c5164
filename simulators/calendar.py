"""Local time and the arrival-rate calendar: intraday profile × day-of-week × scenario effects.

Arrivals are a non-homogeneous Poisson process whose rate is piecewise constant: constant within
each local half hour (the profile), scaled by the day-of-week factor and by every scenario
``volume`` effect active at that time. :func:`rate_segments` lists those pieces as
``(start_ms, end_ms, rate per ms)``, day after day, for the engine to draw from. All clock times
("10:00", shift starts) are local to the tenant's time zone; instants are epoch milliseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOTS_PER_DAY = 48  #: half-hour slots in a local day
SLOT_MIN = 30
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Relative call volume per local half hour, 00:00 first: quiet night, a morning ramp to a peak
# around 10:00, a lunch dip, a second (slightly lower) peak around 14:30–15:30, a long evening
# tail. Shaped like the published intraday curves of Chinese operator hotlines; normalised to
# shares of the day's volume below.
_DEFAULT_WEIGHTS = (
    0.12, 0.09, 0.07, 0.05, 0.04, 0.04, 0.04, 0.04, 0.05, 0.07, 0.10, 0.16,  # 00:00-06:00
    0.30, 0.50, 0.85, 1.30,                                                  # 06:00-08:00
    1.80, 2.30, 2.70, 2.90, 3.00, 2.90, 2.70, 2.40,                          # 08:00-12:00
    2.00, 1.80, 1.90, 2.30,                                                  # 12:00-14:00
    2.60, 2.80, 2.80, 2.70, 2.50, 2.30, 2.00, 1.80,                          # 14:00-18:00
    1.60, 1.50, 1.45, 1.35, 1.20, 1.00,                                      # 18:00-21:00
    0.75, 0.60, 0.45, 0.33, 0.24, 0.17,                                      # 21:00-24:00
)  # fmt: skip


def normalise(weights: Sequence[float]) -> tuple[float, ...]:
    """Weights -> shares of the day's volume (summing to 1)."""
    total = float(sum(weights))
    return tuple(w / total for w in weights)


DEFAULT_PROFILE = normalise(_DEFAULT_WEIGHTS)
FLAT_PROFILE = normalise([1.0] * SLOTS_PER_DAY)
#: Monday .. Sunday multipliers of the base day's volume: busy Monday, quiet weekend.
DEFAULT_DAY_FACTORS = (1.15, 1.05, 1.0, 1.0, 0.95, 0.75, 0.7)


def to_ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)


def local_date(t_ms: int, tz: ZoneInfo) -> date:
    """The tenant-local calendar date of an instant."""
    return datetime.fromtimestamp(t_ms / 1000, tz).date()


def at_local(day: date, minute: float, tz: ZoneInfo) -> int:
    """Epoch ms of ``minute`` minutes after local midnight of ``day`` (may exceed 24 h)."""
    # Aware datetime + timedelta is wall-clock arithmetic in Python: "10:00" stays 10:00 local
    # on a day with a DST change, and timestamp() applies that moment's offset.
    return to_ms(datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=minute))


def rate_segments(
    calls_per_day: float,
    profile: Sequence[float],
    day_factors: Sequence[float],
    windows: Sequence[tuple[float, float, float]],
    tz: ZoneInfo,
    from_ms: int,
) -> Iterator[tuple[int, int, float]]:
    """Piecewise-constant arrival rate (calls per ms) from ``from_ms`` on, forever.

    ``windows`` are daily ``(start_min, end_min, factor)`` volume effects in local minutes
    (``end_min`` may pass midnight). Pieces are cut at every half hour and every window edge.
    """
    day = local_date(from_ms, tz)
    while True:
        slots = [at_local(day, SLOT_MIN * i, tz) for i in range(SLOTS_PER_DAY + 1)]
        day_start, day_end = slots[0], slots[-1]
        spans = []  # (start_ms, end_ms, factor) of windows from yesterday and today
        for back in (1, 0):
            d = day - timedelta(days=back)
            for s, e, f in windows:
                a, b = at_local(d, s, tz), at_local(d, e, tz)
                if a < day_end and b > day_start:
                    spans.append((a, b, f))
        cuts = set(slots)
        cuts.update(x for a, b, _ in spans for x in (a, b) if day_start < x < day_end)
        points = sorted(cuts)
        base = calls_per_day * day_factors[day.weekday()]
        for a, b in zip(points, points[1:], strict=False):
            if b <= from_ms:
                continue
            i = bisect_right(slots, a) - 1
            rate = base * profile[i] / (slots[i + 1] - slots[i])
            for s, e, f in spans:
                if s <= a and b <= e:
                    rate *= f
            yield a, b, rate
        day += timedelta(days=1)
