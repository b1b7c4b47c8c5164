"""Per-call CDR exports (CSV, one row per call) -> the event sequence of each call.

For each row, following its :class:`~sources.cdr_mapping.CdrMapping`:

* answered: ``call_offered`` @ queue entry, ``call_answered`` @ queue exit (wait = exit - entry),
  ``call_ended`` @ service end (talk, hold), ``wrapup_ended`` @ service end + acw (if acw is mapped);
* abandoned: ``call_offered``, ``call_abandoned`` @ queue exit; overflowed: ``call_overflowed``.

Real exports are messy. Repaired (and counted under ``repaired``): rows out of time order (all
events are sorted by time before publishing); a time that is empty or zero, from its fallback (a call
answered straight from the IVR enters the queue at the IVR exit and waits 0); with date and time in
separate columns, a time earlier than the one before it is on the next day if that makes a gap of
at most 6 h (a service that ends after midnight); a talk time that is negative or missing while
service start and end are known.
Skipped (counted, not errors): outcome values mapped to ``skip``, skipped call types, calls that
never reached a queue. Dead-lettered (with line number and reason): everything else that cannot be
made right without guessing. Event ids hash (tenant, call id, queue, queue entry time, type).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sources.cdr_mapping import TIME_POINTS, CdrMapping, TimeSpec
from sources.common import Sink, SourceError, Summary, check_event, event_id
from stream.errors import ConfigError

log = logging.getLogger("sources.cdr")
SOURCE = "cdr"
# Dead-letter reasons of this adapter (the canonical ones of stream.events may also appear).
R_BAD_TIMESTAMP = "bad_timestamp"
R_TIME_ORDER = "time_order"
R_BAD_DURATION = "bad_duration"
R_NEGATIVE_DURATION = "negative_duration"
R_MISSING_DURATION = "missing_duration"
R_MISSING_TIME = "missing_time"
R_MISSING_FIELD = "missing_field"
R_UNKNOWN_OUTCOME = "unknown_outcome"
# Skip reasons: fine rows that are not queue traffic.
S_CALL_TYPE = "call_type"
S_OUTCOME_SKIP = "outcome_skip"
S_NOT_QUEUED = "not_queued"
DURATION_NULLS = frozenset({"", "NULL", "null", "None", "-"})
ONE_DAY = timedelta(days=1)
#: A split-column time earlier than the point before it is taken as the next day only if that
#: makes the gap at most this long; a bigger gap is an error, not midnight (no call lasts 6 h).
MAX_NEXT_DAY_GAP = timedelta(hours=6)


class Skip(Exception):  # noqa: N818 - a normal outcome, not an error
    """The row is fine but is not queue traffic; ``reason`` is counted under ``skipped``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _err(reason: str, detail: str) -> SourceError:
    return SourceError(reason, detail)


class RowConverter:
    """One CSV row (a dict of column -> text) -> its events; knows the mapping, holds no state."""

    def __init__(self, mapping: CdrMapping) -> None:
        self.m = mapping

    # -- values ----------------------------------------------------------------------------
    def _text(self, row: dict[str, str], key: str) -> str | None:
        column = self.m.columns.get(key)
        if not column:
            return None
        value = (row.get(column) or "").strip()
        return value or None

    def _cell(self, row: dict[str, str], column: str) -> str | None:
        value = (row.get(column) or "").strip()
        return None if value in self.m.null_values else value

    def _parse_with(self, text: str, formats: tuple[str, ...], what: str) -> datetime:
        for fmt in formats:
            try:
                return datetime.strptime(text, fmt)  # noqa: DTZ007 - zone attached by the caller
            except ValueError:
                continue
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        raise _err(R_BAD_TIMESTAMP, f"{what} {text!r} matches none of {list(formats)}")

    def _aware(self, dt: datetime) -> datetime:
        return dt if dt.tzinfo is not None else dt.replace(tzinfo=self.m.tz)

    def _primary(self, spec: TimeSpec, row: dict[str, str]) -> datetime | None:
        if spec.column:
            text = self._cell(row, spec.column)
            return (
                None
                if text is None
                else self._aware(self._parse_with(text, self.m.timestamp_formats, spec.column))
            )
        if spec.epoch:
            text = self._cell(row, spec.epoch)
            if text is None:
                return None
            try:
                return datetime.fromtimestamp(float(text), tz=self.m.tz)
            except (ValueError, OverflowError, OSError) as e:
                raise _err(R_BAD_TIMESTAMP, f"{spec.epoch} {text!r} is not UNIX seconds") from e
        if spec.time:
            t_text = self._cell(row, spec.time)
            d_text = self._cell(row, spec.date) if spec.date else None
            if t_text is None or (spec.date and d_text is None):
                return None
            t = self._parse_with(t_text, self.m.time_formats, spec.time).time()
            if d_text is None:
                raise _err(R_BAD_TIMESTAMP, f"{spec.time} has a time but no date column is mapped")
            d = self._parse_with(d_text, self.m.date_formats, spec.date or "").date()
            return self._aware(datetime.combine(d, t))
        return None

    def _point(
        self, name: str, row: dict[str, str], notes: list[str], depth: int = 0
    ) -> tuple[datetime | None, bool]:
        """A time point (and whether it came from split date/time columns), using fallbacks."""
        spec = self.m.times.get(name)
        if spec is None or depth > len(self.m.times):
            return None, False
        value = self._primary(spec, row)
        if value is not None:
            return value, spec.split
        for other in spec.fallback:
            value, split = self._point(other, row, notes, depth + 1)
            if value is not None:
                notes.append(f"fallback:{name}<-{other}")
                return value, split
        return None, False

    def _times(self, row: dict[str, str], notes: list[str]) -> dict[str, datetime]:
        """The four time points that are known, in order; next-day repair for split columns."""
        out: dict[str, datetime] = {}
        prev: tuple[str, datetime] | None = None
        for name in TIME_POINTS:
            value, split = self._point(name, row, notes)
            if value is None:
                continue
            if prev is not None and value < prev[1]:
                if split and timedelta(0) <= value + ONE_DAY - prev[1] <= MAX_NEXT_DAY_GAP:
                    value += ONE_DAY
                    notes.append(f"next_day:{name}")
                else:
                    raise _err(
                        R_TIME_ORDER, f"{name} {value.isoformat()} is before {prev[0]} {prev[1].isoformat()}"
                    )
            out[name] = value
            prev = (name, value)
        return out

    def _duration(self, name: str, row: dict[str, str]) -> float | None:
        spec = self.m.durations.get(name)
        if spec is None or spec.column is None:
            return None
        text = (row.get(spec.column) or "").strip()
        if text in DURATION_NULLS:
            return None
        try:
            if spec.unit == "hms" or ":" in text:
                sign = -1 if text.startswith("-") else 1
                parts = [float(p) for p in text.lstrip("-").split(":")]
                seconds = 0.0
                for p in parts:
                    seconds = seconds * 60 + p
                return sign * seconds
            value = float(text)
        except ValueError as e:
            raise _err(R_BAD_DURATION, f"{spec.column} {text!r} is not a duration") from e
        return value / 1000 if spec.unit == "ms" else value

    def _between(self, name: str, times: dict[str, datetime], default: tuple[str, str]) -> float | None:
        spec = self.m.durations.get(name)
        start, end = spec.between if spec is not None and spec.between else default
        if start in times and end in times:
            return (times[end] - times[start]).total_seconds()
        return None

    # -- a row -----------------------------------------------------------------------------
    def convert(self, row: dict[str, str], notes: list[str]) -> list[dict[str, Any]]:  # noqa: C901
        """The events of one row; raise :class:`Skip` or :class:`SourceError` (dead-letter)."""
        call_type = self._text(row, "call_type")
        if call_type is not None and call_type.lower() in self.m.skip_call_types:
            raise Skip(S_CALL_TYPE)
        outcome_text = self._text(row, "outcome") or ""
        outcome = self.m.outcome_of(outcome_text)
        if outcome is None:
            raise _err(R_UNKNOWN_OUTCOME, f"outcome {outcome_text!r} is not in the mapping's outcomes")
        if outcome == "skip":
            raise Skip(S_OUTCOME_SKIP)
        queue = self._text(row, "queue")
        if queue is None:
            raise Skip(S_NOT_QUEUED)
        times = self._times(row, notes)
        entry, exit_ = times.get("queue_entry"), times.get("queue_exit")
        if outcome != "answered" and entry is None and exit_ is None:
            raise Skip(S_NOT_QUEUED)  # hung up or left before the queue: not queue traffic
        if outcome == "answered" and exit_ is None:
            exit_ = times.get("service_start")
        if entry is None or exit_ is None:
            missing = "queue_entry" if entry is None else "queue_exit"
            raise _err(R_MISSING_TIME, f"{outcome} call has no {missing} (nor a fallback for it)")
        wait = self._duration("wait_s", row)
        if wait is None or wait < 0:
            if wait is not None:
                notes.append("wait_from_times")
            wait = (exit_ - entry).total_seconds()
        call_id = self._text(row, "call_id") or event_id(SOURCE, self.m.tenant, *sorted(row.items()))
        entry_ms = int(entry.timestamp() * 1000)

        def ev(etype: str, at: datetime, **fields: Any) -> dict[str, Any]:
            out = {
                "event_id": event_id(SOURCE, self.m.tenant, call_id, queue, entry_ms, etype),
                "type": etype,
                "ts": round(at.timestamp() * 1000),
                "tenant": self.m.tenant,
                "call_id": call_id,
                "queue": queue,
            }
            out.update(fields)
            check_event(out)
            return out

        offered: dict[str, Any] = {}
        caller = self._text(row, "caller")
        if caller is not None:
            offered["caller"] = caller
        events = [ev("call_offered", entry, **offered)]
        if outcome != "answered":
            etype = "call_abandoned" if outcome == "abandoned" else "call_overflowed"
            return [*events, ev(etype, exit_, wait_s=wait)]
        agent = self._text(row, "agent_id")
        if agent is None:
            raise _err(R_MISSING_FIELD, "an answered call needs an agent")
        talk = self._duration("talk_s", row)
        if talk is None or talk < 0:
            from_times = self._between("talk_s", times, ("service_start", "service_end"))
            if from_times is None:
                raise _err(R_NEGATIVE_DURATION if talk is not None else "missing_duration",
                           f"talk time {talk!r} and no service start and end to compute it")  # fmt: skip
            if talk is not None:
                notes.append("talk_from_times")
            talk = from_times
        hold = self._duration("hold_s", row) or 0.0
        acw = self._duration("acw_s", row)
        for name, value in (("hold_s", hold), ("acw_s", acw)):
            if value is not None and value < 0:
                raise _err(R_NEGATIVE_DURATION, f"{name} is negative: {value}")
        end = times.get("service_end") or exit_ + timedelta(seconds=talk)
        events.append(ev("call_answered", exit_, agent_id=agent, wait_s=wait))
        events.append(ev("call_ended", end, agent_id=agent, talk_s=talk, hold_s=hold))
        if acw is not None:
            events.append(ev("wrapup_ended", end + timedelta(seconds=acw), agent_id=agent, acw_s=acw))
        return events


def read_rows(path: Path, mapping: CdrMapping) -> Iterator[tuple[int, dict[str, str], str]]:
    """(line number, row, raw text) for each data row; checks that mapped columns exist."""
    with path.open(newline="", encoding=mapping.encoding, errors="replace") as fh:
        reader = csv.DictReader(fh, delimiter=mapping.delimiter)
        header = set(reader.fieldnames or ())
        wanted = set(mapping.columns.values())
        for spec in mapping.times.values():
            wanted.update(c for c in (spec.column, spec.date, spec.time, spec.epoch) if c)
        wanted.update(d.column for d in mapping.durations.values() if d.column)
        missing = sorted(wanted - header)
        if missing:
            msg = f"{path}: columns {missing} of the mapping are not in the header {sorted(header)}"
            raise ConfigError(msg)
        for row in reader:
            raw = mapping.delimiter.join("" if v is None else str(v) for v in row.values())
            yield reader.line_num, row, raw


def convert_file(
    path: Path, mapping: CdrMapping, summary: Summary, *, now_ms: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """All events of a file sorted by time (stable: a call's events keep their order) + dead letters."""
    converter = RowConverter(mapping)
    events: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    latest_entry = None
    for line, row, raw in read_rows(path, mapping):
        summary.read += 1
        notes: list[str] = []
        try:
            out = converter.convert(row, notes)
        except Skip as s:
            summary.skipped[s.reason] += 1
            continue
        except SourceError as e:
            summary.reject(
                dead, SOURCE, e, raw, now_ms, line=line, file=str(path), tenant=mapping.tenant, log=log
            )
            continue
        summary.repaired.update(n.split(":")[0] if n.startswith("next_day") else n for n in notes)
        entry_ts = out[0]["ts"]
        if latest_entry is not None and entry_ts < latest_entry:
            summary.repaired["row_out_of_order"] += 1
        latest_entry = entry_ts if latest_entry is None else max(latest_entry, entry_ts)
        summary.imported += 1
        summary.events += len(out)
        events.extend(out)
    events.sort(key=lambda e: e["ts"])
    return events, dead


async def import_cdr(
    paths: list[Path], mapping: CdrMapping, sink: Sink, *, clock: Callable[[], float] = time.time
) -> Summary:
    """Import CDR files; events are published sorted by time per file, then the dead letters."""
    summary = Summary()
    for path in paths:
        events, dead = convert_file(path, mapping, summary, now_ms=int(clock() * 1000))
        await sink.publish(events)
        if dead:
            await sink.dead_letter(dead)
    return summary
