"""The YAML column mapping of a per-call CDR export, loaded and checked once.

One file describes one export format: CSV dialect, which column holds what, how times are
written (one column, or date and time in two; the time zone of naive times), which outcome values
mean answered / abandoned / overflowed / skip, where durations come from, and fallbacks for a time
that is empty or zero. ``config/cdr-mapping.example.yaml`` is a commented example; errors name the
key and the bad value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from stream.errors import ConfigError
from stream.events import TENANT_RE

#: The time points of a queued call, in the order they happen.
TIME_POINTS = ("queue_entry", "queue_exit", "service_start", "service_end")
OUTCOMES = ("answered", "abandoned", "overflowed", "skip")
DURATIONS = ("talk_s", "hold_s", "acw_s", "wait_s")
COLUMN_KEYS = ("call_id", "queue", "agent_id", "caller", "call_type", "outcome")
DEFAULT_NULLS = (
    "",
    "0",
    "NULL",
    "null",
    "None",
    "-",
    "0000-00-00 00:00:00",
    "0000-00-00",
    "1970-01-01 00:00:00",
)
DEFAULT_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
DEFAULT_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%H%M%S")


def _fail(key: str, problem: str, value: Any) -> NoReturn:
    msg = f"cdr mapping: {key}: {problem} (got {value!r})"
    raise ConfigError(msg)


@dataclass(frozen=True)
class TimeSpec:
    """Where one time point comes from: ``column`` (date and time together), ``date`` + ``time``
    (two columns), or ``epoch`` (UNIX seconds); ``fallback``: other time point names, tried in order
    when this one is empty or zero."""

    name: str
    column: str | None = None
    date: str | None = None
    time: str | None = None
    epoch: str | None = None
    fallback: tuple[str, ...] = ()

    @property
    def split(self) -> bool:
        """Date and time in separate columns: a time earlier than its predecessor may be next day."""
        return self.time is not None


@dataclass(frozen=True)
class DurationSpec:
    """A duration column (``unit`` s or ms, or ``hh:mm:ss`` text) or ``from`` two time points."""

    name: str
    column: str | None = None
    unit: str = "s"
    between: tuple[str, str] | None = None


@dataclass(frozen=True)
class CdrMapping:
    tenant: str
    tz: ZoneInfo
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    null_values: frozenset[str] = frozenset(DEFAULT_NULLS)
    timestamp_formats: tuple[str, ...] = DEFAULT_TS_FORMATS
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    time_formats: tuple[str, ...] = DEFAULT_TIME_FORMATS
    columns: Mapping[str, str] = field(default_factory=dict)
    times: Mapping[str, TimeSpec] = field(default_factory=dict)
    durations: Mapping[str, DurationSpec] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)  # source value -> outcome
    skip_call_types: frozenset[str] = frozenset()

    def outcome_of(self, value: str) -> str | None:
        return self.outcomes.get(value.strip().lower())


def _time_spec(name: str, raw: Any) -> TimeSpec:
    key = f"times.{name}"
    if not isinstance(raw, dict):
        _fail(key, "must be a mapping with column, date+time or epoch", raw)
    unknown = set(raw) - {"column", "date", "time", "epoch", "fallback"}
    if unknown:
        _fail(key, f"unknown keys {sorted(unknown)}", raw)
    sources = [k for k in ("column", "epoch", "time") if raw.get(k)]
    if len(sources) > 1 or (raw.get("date") and not raw.get("time")):
        _fail(key, "give exactly one of column, epoch, or date + time", raw)
    fallback = raw.get("fallback", [])
    if isinstance(fallback, str):
        fallback = [fallback]
    if not sources and not fallback:
        _fail(key, "needs a column, date + time, epoch, or a fallback", raw)
    if not isinstance(fallback, list) or not all(isinstance(f, str) for f in fallback):
        _fail(f"{key}.fallback", "must be a list of time point names", fallback)
    return TimeSpec(
        name, raw.get("column"), raw.get("date"), raw.get("time"), raw.get("epoch"), tuple(fallback)
    )


def _duration_spec(name: str, raw: Any) -> DurationSpec:
    key = f"durations.{name}"
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict) or not (raw.get("column") or raw.get("from")):
        _fail(key, "must be {column: NAME[, unit: s|ms|hms]} or {from: [start, end]}", raw)
    unit = raw.get("unit", "s")
    if unit not in ("s", "ms", "hms"):
        _fail(f"{key}.unit", "must be s, ms or hms", unit)
    between = raw.get("from")
    if between is not None:
        if not (isinstance(between, list) and len(between) == 2):
            _fail(f"{key}.from", "must be two time point names", between)
        between = (str(between[0]), str(between[1]))
    return DurationSpec(name, raw.get("column"), unit, between)


def _str_list(key: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        _fail(key, "must be a list", raw)
    return [str(v) for v in raw]


def parse_mapping(doc: Any, *, tenant: str | None = None) -> CdrMapping:  # noqa: C901 - one check per key
    """Build a :class:`CdrMapping` from a decoded YAML document; ``tenant`` overrides the file's."""
    if not isinstance(doc, dict):
        _fail("(top)", "the mapping file must be a YAML mapping", type(doc).__name__)
    tenant = tenant or doc.get("tenant", "default")
    if not isinstance(tenant, str) or not TENANT_RE.fullmatch(tenant):
        _fail("tenant", f"must match {TENANT_RE.pattern}", tenant)
    tz_name = doc.get("time_zone", "UTC")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        _fail("time_zone", "is not an IANA time zone", tz_name)
    csv_opts = doc.get("csv", {}) or {}
    delimiter = csv_opts.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        _fail("csv.delimiter", "must be one character", delimiter)
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict) or set(columns) - set(COLUMN_KEYS):
        _fail("columns", f"keys must be among {COLUMN_KEYS}", columns)
    for required in ("queue", "outcome"):
        if not columns.get(required):
            _fail(f"columns.{required}", "is required", columns.get(required))
    times_raw = doc.get("times") or {}
    if not isinstance(times_raw, dict):
        _fail("times", "must be a mapping of time point -> spec", times_raw)
    times = {name: _time_spec(name, spec) for name, spec in times_raw.items()}
    for needed in ("queue_entry", "queue_exit"):
        if needed not in times:
            _fail(f"times.{needed}", "is required", None)
    for spec in times.values():
        for f in spec.fallback:
            if f not in times or f == spec.name:
                _fail(f"times.{spec.name}.fallback", "names an unknown time point", f)
    durations_raw = doc.get("durations") or {}
    if not isinstance(durations_raw, dict) or set(durations_raw) - set(DURATIONS):
        _fail("durations", f"keys must be among {DURATIONS}", durations_raw)
    durations = {name: _duration_spec(name, spec) for name, spec in durations_raw.items()}
    for dspec in durations.values():
        if dspec.between and not set(dspec.between) <= set(times):
            _fail(f"durations.{dspec.name}.from", "names an unknown time point", list(dspec.between))
    outcomes_raw = doc.get("outcomes") or {}
    if not isinstance(outcomes_raw, dict) or set(outcomes_raw) - set(OUTCOMES):
        _fail("outcomes", f"keys must be among {OUTCOMES}", outcomes_raw)
    outcomes: dict[str, str] = {}
    for outcome, values in outcomes_raw.items():
        for value in _str_list(f"outcomes.{outcome}", values):
            key = value.strip().lower()
            if key in outcomes and outcomes[key] != outcome:
                _fail(f"outcomes.{outcome}", f"value is already listed under {outcomes[key]}", value)
            outcomes[key] = outcome
    if "answered" not in outcomes.values():
        _fail("outcomes.answered", "needs at least one value", outcomes_raw.get("answered"))
    nulls = doc.get("null_values")
    return CdrMapping(
        tenant=tenant,
        tz=tz,
        delimiter=delimiter,
        encoding=str(csv_opts.get("encoding", "utf-8-sig")),
        null_values=frozenset(_str_list("null_values", nulls))
        if nulls is not None
        else frozenset(DEFAULT_NULLS),
        timestamp_formats=tuple(_str_list("timestamp_formats", doc.get("timestamp_formats")))
        or DEFAULT_TS_FORMATS,
        date_formats=tuple(_str_list("date_formats", doc.get("date_formats"))) or DEFAULT_DATE_FORMATS,
        time_formats=tuple(_str_list("time_formats", doc.get("time_formats"))) or DEFAULT_TIME_FORMATS,
        columns=dict(columns),
        times=times,
        durations=durations,
        outcomes=outcomes,
        skip_call_types=frozenset(
            v.lower() for v in _str_list("call_types.skip", (doc.get("call_types") or {}).get("skip"))
        ),
    )


def load_mapping(path: Path, *, tenant: str | None = None) -> CdrMapping:
    """Read and check a mapping file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        msg = f"cdr mapping {path}: cannot read: {e}"
        raise ConfigError(msg) from e
    return parse_mapping(doc, tenant=tenant)
