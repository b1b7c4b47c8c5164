"""Values formatted for people, in one place: mm:ss for times, % with one decimal, "—" for no data.

Everything takes ``None`` (no data: a zero denominator, an empty window) and returns :data:`DASH`,
so a blank is never shown as 0 % or 100 %.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

DASH = "—"


def pct(fraction: float | None) -> str:
    """A fraction 0–1 as a percentage with one decimal: ``0.8534`` -> ``85.3%``."""
    if fraction is None:
        return DASH
    return f"{fraction * 100:.1f}%"


def mmss(seconds: float | None) -> str:
    """Seconds as ``mm:ss`` (``h:mm:ss`` from one hour): ``83`` -> ``01:23``."""
    if seconds is None:
        return DASH
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def count(n: int | float | None) -> str:
    """A count with thousands separators; ``None`` -> ``—``."""
    if n is None:
        return DASH
    return f"{int(n):,}"


def age(seconds: float | None, lang: str) -> str:
    """A short age for the status line: ``3 s``, ``2 min``, ``1 h`` (zh: 秒/分钟/小时)."""
    if seconds is None:
        return DASH
    s = max(0, int(seconds))
    units = ("秒", "分钟", "小时") if lang == "zh" else (" s", " min", " h")
    if s < 120:
        return f"{s}{units[0]}"
    if s < 7200:
        return f"{s // 60}{units[1]}"
    return f"{s // 3600}{units[2]}"


def clock(ts_ms: int, tz: tzinfo) -> str:
    """Local wall time ``HH:MM:SS`` in the tenant's zone."""
    return datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%H:%M:%S")


def hhmm(ts_ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz).strftime("%H:%M")


def when(ts_ms: int, tz: tzinfo, lang: str) -> str:
    """Date and time for tables: ``11-22 09:15`` (zh ``11月22日 09:15``)."""
    d = datetime.fromtimestamp(ts_ms / 1000, tz)
    return f"{d.month}月{d.day}日 {d:%H:%M}" if lang == "zh" else d.strftime("%d %b %H:%M")


def local_dt(ts_ms: int, tz: tzinfo) -> datetime:
    """An aware datetime in the tenant's zone (for chart axes)."""
    return datetime.fromtimestamp(ts_ms / 1000, tz)
