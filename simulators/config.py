"""The simulated center described in YAML: tenant, queues, agent groups, shifts, scenarios.

Validated once here into frozen dataclasses (errors name the key and the bad value), then
trusted by the engine. ``simulators/configs/base.yaml`` is the shipped mid-size center and
``simulators/scenarios/*.yaml`` the shipped scenarios; ``docs/simulators.md`` describes every key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from simulators.calendar import (
    DAY_NAMES,
    DEFAULT_DAY_FACTORS,
    DEFAULT_PROFILE,
    FLAT_PROFILE,
    SLOTS_PER_DAY,
    normalise,
)
from simulators.distributions import Dist
from stream.errors import ConfigError
from stream.events import TENANT_RE

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "configs"
SCENARIO_DIR = PACKAGE_DIR / "scenarios"
BASE_CONFIG = CONFIG_DIR / "base.yaml"

EFFECT_KINDS = ("volume", "staffing", "handle_time", "patience")
_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*"
                          r"(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")  # fmt: skip
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_duration(value: Any, where: str) -> float:
    """``90`` (seconds), ``"45m"``, ``"1h30m"``, ``"2d"`` -> seconds."""
    if isinstance(value, bool):
        msg = f"{where}: expected a duration like 45m, got {value!r}"
        raise ConfigError(msg)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m or not any(m.groups()):
            msg = f"{where}: expected a duration like 90s, 45m, 1h30m or 2d, got {value!r}"
            raise ConfigError(msg)
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = d * 86400 + h * 3600 + mi * 60 + s
    if not math.isfinite(seconds) or seconds < 0:
        msg = f"{where}: duration must be >= 0, got {value!r}"
        raise ConfigError(msg)
    return seconds


def parse_clock(value: Any, where: str) -> float:
    """``"09:30"`` (local clock time; up to ``"48:00"`` to pass midnight) -> minutes after midnight."""
    m = _CLOCK_RE.match(str(value).strip())
    if not m or int(m.group(2)) >= 60 or int(m.group(1)) > 48:
        msg = f"{where}: expected a local time HH:MM, got {value!r}"
        raise ConfigError(msg)
    return int(m.group(1)) * 60 + int(m.group(2))


def _prob(value: Any, where: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError) as e:
        msg = f"{where}: expected a probability 0..1, got {value!r}"
        raise ConfigError(msg) from e
    if not 0.0 <= p <= 1.0:
        msg = f"{where}: expected a probability 0..1, got {value!r}"
        raise ConfigError(msg)
    return p


def _check_keys(obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(obj) - allowed
    if unknown:
        msg = f"{where}: unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(allowed))})"
        raise ConfigError(msg)


def _weights(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    """``{a: 3, b: 1}`` or ``[a, b]`` -> ((name, weight), ...), weights > 0."""
    if isinstance(value, str):
        value = [value]
    items = value.items() if isinstance(value, Mapping) else ((v, 1.0) for v in value or ())
    out = tuple((str(k), float(w)) for k, w in items)
    if not out or any(w <= 0 for _, w in out):
        msg = f"{where}: expected names with positive weights, got {value!r}"
        raise ConfigError(msg)
    return out


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue (skill group). Durations are seconds; ``calls_per_day`` is a day of factor 1."""

    name: str
    calls_per_day: float
    talk: Dist
    hold: Dist
    acw: Dist
    patience: Dist
    redial_delay: Dist
    hold_prob: float = 0.0
    redial_prob: float = 0.0
    priority: int = 0
    profile: tuple[float, ...] | None = None  # None: the tenant's profile
    overflow_after_s: float | None = None
    overflow_to: str | None = None
    transfer_prob: float = 0.0
    transfer_to: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Break:
    """A scheduled aux period, ``after_s`` from shift start, staggered over ``spread_s`` by agent."""

    reason: str
    after_s: float
    length_s: float
    spread_s: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentGroup:
    """``count`` agents with the same skills and shift. Skill priority 1 is served first."""

    name: str
    count: int
    skills: tuple[tuple[str, int], ...]
    shift_start_min: float
    shift_end_min: float  # > start; may pass midnight (e.g. 21:00-31:30 written "21:00-07:30")
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    login_jitter_s: float = 0.0
    breaks: tuple[Break, ...] = ()
    aux_per_hour: float = 0.0
    aux_reasons: tuple[tuple[str, float], ...] = (("personal", 1.0),)
    aux_length: Dist = field(default_factory=lambda: Dist("lognormal", 180.0, 0.7))


@dataclass(frozen=True, slots=True)
class Effect:
    """A scenario change, daily between local minutes ``start_min`` and ``end_min``.

    ``volume``: arrival rate × factor; ``staffing``: a share ``1 - factor`` of the agents is absent
    (logged out); ``handle_time``: talk, hold and wrap-up × factor for calls answered in the window;
    ``patience``: callers' patience × factor. ``queues`` None means all queues (for staffing: agents
    with any of those skills).
    """

    kind: str
    factor: float
    start_min: float
    end_min: float
    queues: tuple[str, ...] | None = None

    def applies(self, queue: str) -> bool:
        return self.queues is None or queue in self.queues


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    effects: tuple[Effect, ...]


@dataclass(frozen=True, slots=True)
class CenterConfig:
    """A whole simulated center (one tenant)."""

    tenant: str
    timezone: str
    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentGroup, ...]
    profile: tuple[float, ...] = DEFAULT_PROFILE
    day_factors: tuple[float, ...] = DEFAULT_DAY_FACTORS
    effects: tuple[Effect, ...] = ()
    scenarios: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not TENANT_RE.match(self.tenant):
            msg = f"tenant {self.tenant!r} must match {TENANT_RE.pattern}"
            raise ConfigError(msg)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            msg = f"timezone {self.timezone!r} is not an IANA time zone"
            raise ConfigError(msg) from e
        names = [q.name for q in self.queues]
        if not names or len(set(names)) != len(names):
            msg = f"queues must be a non-empty list of distinct names, got {names}"
            raise ConfigError(msg)
        known = set(names)
        for q in self.queues:
            targets = [q.overflow_to] if q.overflow_to else []
            targets += [n for n, _ in q.transfer_to]
            for t in targets:
                if t not in known:
                    msg = f"queue {q.name}: overflow/transfer target {t!r} is not a queue"
                    raise ConfigError(msg)
        groups = [g.name for g in self.agents]
        if len(set(groups)) != len(groups):
            msg = f"agent group names must be distinct, got {groups}"
            raise ConfigError(msg)
        for g in self.agents:
            for s, _ in g.skills:
                if s not in known:
                    msg = f"agent group {g.name}: skill {s!r} is not a queue"
                    raise ConfigError(msg)
        for e in self.effects:
            for qn in e.queues or ():
                if qn not in known:
                    msg = f"{e.kind} effect: queue {qn!r} is not a queue"
                    raise ConfigError(msg)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def agent_count(self) -> int:
        return sum(g.count for g in self.agents)

    def queue(self, name: str) -> QueueConfig:
        return next(q for q in self.queues if q.name == name)

    def with_scenarios(self, *scenarios: Scenario) -> CenterConfig:
        """This center with the scenarios' effects added on top."""
        effects = self.effects + tuple(e for s in scenarios for e in s.effects)
        names = self.scenarios + tuple(s.name for s in scenarios)
        return replace(self, effects=effects, scenarios=names)

    def scaled(self, factor: float) -> CenterConfig:
        """Volumes and head counts × ``factor`` (at least one agent per non-empty group)."""
        if factor <= 0:
            msg = f"scale must be > 0, got {factor!r}"
            raise ConfigError(msg)
        queues = tuple(replace(q, calls_per_day=q.calls_per_day * factor) for q in self.queues)
        agents = tuple(
            replace(g, count=max(1, round(g.count * factor)) if g.count else 0) for g in self.agents
        )
        return replace(self, queues=queues, agents=agents)

    def renamed(self, tenant: str) -> CenterConfig:
        return replace(self, tenant=tenant)


# ---------------------------------------------------------------------------------------------
# YAML -> dataclasses

_QUEUE_KEYS = {
    "calls_per_day", "talk", "hold", "hold_prob", "acw", "patience", "redial_prob", "redial_delay",
    "priority", "profile", "overflow", "transfer",
}  # fmt: skip
_QUEUE_DEFAULTS: dict[str, Any] = {
    "talk": {"dist": "lognormal", "mean": 240, "cv": 0.9},
    "hold": {"dist": "lognormal", "mean": 45, "cv": 1.0},
    "hold_prob": 0.0,
    "acw": {"dist": "lognormal", "mean": 30, "cv": 0.6},
    "patience": {"dist": "exponential", "mean": 180},
    "redial_prob": 0.0,
    "redial_delay": {"dist": "exponential", "mean": 180},
    "priority": 0,
}


def _profile(value: Any, where: str) -> tuple[float, ...]:
    if value in (None, "default"):
        return DEFAULT_PROFILE
    if value == "flat":
        return FLAT_PROFILE
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) != SLOTS_PER_DAY
        or not all(isinstance(w, int | float) and w >= 0 for w in value)
        or not sum(value) > 0
    ):
        msg = f"{where}: expected 'default', 'flat' or {SLOTS_PER_DAY} weights >= 0 (half hours from 00:00)"
        raise ConfigError(msg)
    return normalise(value)


def _day_factors(value: Any) -> tuple[float, ...]:
    if value is None:
        return DEFAULT_DAY_FACTORS
    if value == "flat":
        return (1.0,) * 7
    if not isinstance(value, Mapping):
        msg = f"day_factors: expected 'flat' or a mapping mon..sun -> factor, got {value!r}"
        raise ConfigError(msg)
    _check_keys(value, set(DAY_NAMES), "day_factors")
    out = list(DEFAULT_DAY_FACTORS)
    for name, f in value.items():
        if not isinstance(f, int | float) or f < 0:
            msg = f"day_factors.{name}: expected a factor >= 0, got {f!r}"
            raise ConfigError(msg)
        out[DAY_NAMES.index(name)] = float(f)
    return tuple(out)


def _queue(name: str, raw: Mapping[str, Any], defaults: Mapping[str, Any]) -> QueueConfig:
    where = f"queues.{name}"
    _check_keys(raw, _QUEUE_KEYS, where)
    v = {**_QUEUE_DEFAULTS, **defaults, **raw}
    if "calls_per_day" not in v:
        msg = f"{where}: calls_per_day is required"
        raise ConfigError(msg)
    cpd = v["calls_per_day"]
    if isinstance(cpd, bool) or not isinstance(cpd, int | float) or cpd < 0:
        msg = f"{where}.calls_per_day: expected a number >= 0, got {cpd!r}"
        raise ConfigError(msg)
    overflow = v.get("overflow") or {}
    _check_keys(overflow, {"after", "to"}, f"{where}.overflow")
    transfer = v.get("transfer") or {}
    _check_keys(transfer, {"prob", "to"}, f"{where}.transfer")
    for key in ("talk", "hold", "acw", "redial_delay"):
        if v[key] in (None, "never", False):
            msg = f"{where}.{key}: must be a finite duration distribution (only patience may be 'never')"
            raise ConfigError(msg)
    return QueueConfig(
        name=name,
        calls_per_day=float(cpd),
        talk=Dist.parse(v["talk"], default_kind="lognormal", where=f"{where}.talk"),
        hold=Dist.parse(v["hold"], default_kind="lognormal", where=f"{where}.hold"),
        acw=Dist.parse(v["acw"], default_kind="lognormal", where=f"{where}.acw"),
        patience=Dist.parse(v["patience"], default_kind="exponential", where=f"{where}.patience"),
        redial_delay=Dist.parse(v["redial_delay"], default_kind="exponential", where=f"{where}.redial_delay"),
        hold_prob=_prob(v["hold_prob"], f"{where}.hold_prob"),
        redial_prob=_prob(v["redial_prob"], f"{where}.redial_prob"),
        priority=int(v["priority"]),
        profile=_profile(v["profile"], f"{where}.profile") if v.get("profile") is not None else None,
        overflow_after_s=(
            parse_duration(overflow["after"], f"{where}.overflow.after") if "after" in overflow else None
        ),
        overflow_to=str(overflow["to"]) if overflow.get("to") else None,
        transfer_prob=_prob(transfer.get("prob", 0.0), f"{where}.transfer.prob"),
        transfer_to=_weights(transfer["to"], f"{where}.transfer.to") if transfer.get("to") else (),
    )


def _breaks(value: Any, where: str) -> tuple[Break, ...]:
    out = []
    for i, b in enumerate(value or ()):
        w = f"{where}[{i}]"
        if not isinstance(b, Mapping):
            msg = f"{w}: expected {{reason, after, length, spread}}"
            raise ConfigError(msg)
        _check_keys(b, {"reason", "after", "length", "spread"}, w)
        out.append(
            Break(
                reason=str(b.get("reason", "break")),
                after_s=parse_duration(b.get("after", 0), f"{w}.after"),
                length_s=parse_duration(b.get("length", "15m"), f"{w}.length"),
                spread_s=parse_duration(b.get("spread", 0), f"{w}.spread"),
            )
        )
    return tuple(out)


_GROUP_KEYS = {"group", "count", "skills", "shift", "days", "login_jitter", "breaks", "aux"}


def _group(raw: Mapping[str, Any], i: int, named_breaks: Mapping[str, Any]) -> AgentGroup:
    where = f"agents[{i}]"
    if not isinstance(raw, Mapping):
        msg = f"{where}: expected a mapping"
        raise ConfigError(msg)
    _check_keys(raw, _GROUP_KEYS, where)
    name = str(raw.get("group", f"g{i}"))
    where = f"agents.{name}"
    skills_raw = raw.get("skills")
    if isinstance(skills_raw, str | list):
        skills_raw = {s: 1 for s in ([skills_raw] if isinstance(skills_raw, str) else skills_raw)}
    if not isinstance(skills_raw, Mapping) or not skills_raw:
        msg = f"{where}.skills: expected a mapping queue -> priority (1 = first), got {skills_raw!r}"
        raise ConfigError(msg)
    skills = tuple(sorted(((str(q), int(p)) for q, p in skills_raw.items()), key=lambda s: s[1]))
    shift = str(raw.get("shift", "00:00-24:00"))
    try:
        a, b = shift.split("-")
    except ValueError as e:
        msg = f"{where}.shift: expected HH:MM-HH:MM, got {shift!r}"
        raise ConfigError(msg) from e
    start, end = parse_clock(a, f"{where}.shift"), parse_clock(b, f"{where}.shift")
    if end <= start:
        end += 1440  # night shift passing midnight
    days_raw = raw.get("days", list(DAY_NAMES))
    if any(d not in DAY_NAMES for d in days_raw):
        msg = f"{where}.days: expected names among {', '.join(DAY_NAMES)}, got {days_raw!r}"
        raise ConfigError(msg)
    breaks_raw = raw.get("breaks", "default")
    if isinstance(breaks_raw, str):
        if breaks_raw not in named_breaks:
            msg = f"{where}.breaks: no break plan named {breaks_raw!r} under 'break_plans'"
            raise ConfigError(msg)
        breaks_raw = named_breaks[breaks_raw]
    aux = raw.get("aux") or {}
    _check_keys(aux, {"per_hour", "reasons", "length"}, f"{where}.aux")
    per_hour = aux.get("per_hour", 0.0)
    if isinstance(per_hour, bool) or not isinstance(per_hour, int | float) or not 0 <= per_hour < math.inf:
        msg = f"{where}.aux.per_hour: expected a rate >= 0 (aux periods per logged-in hour), got {per_hour!r}"
        raise ConfigError(msg)
    count = raw.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        msg = f"{where}.count: expected an integer >= 0, got {count!r}"
        raise ConfigError(msg)
    return AgentGroup(
        name=name,
        count=count,
        skills=skills,
        shift_start_min=start,
        shift_end_min=end,
        days=tuple(sorted(DAY_NAMES.index(d) for d in days_raw)),
        login_jitter_s=parse_duration(raw.get("login_jitter", 0), f"{where}.login_jitter"),
        breaks=_breaks(breaks_raw, f"{where}.breaks"),
        aux_per_hour=float(per_hour),
        aux_reasons=_weights(aux.get("reasons", {"personal": 1}), f"{where}.aux.reasons"),
        aux_length=Dist.parse(
            aux.get("length", {"dist": "lognormal", "mean": 180, "cv": 0.7}),
            default_kind="lognormal",
            where=f"{where}.aux.length",
        ),
    )


_CENTER_KEYS = {"tenant", "timezone", "profile", "day_factors", "queue_defaults", "queues", "break_plans",
                "agents", "effects"}  # fmt: skip


def center_from_dict(doc: Mapping[str, Any]) -> CenterConfig:
    """Build and validate a :class:`CenterConfig` from a parsed YAML document."""
    if not isinstance(doc, Mapping):
        msg = "a center configuration is a YAML mapping"
        raise ConfigError(msg)
    _check_keys(doc, _CENTER_KEYS, "config")
    defaults = doc.get("queue_defaults") or {}
    _check_keys(defaults, _QUEUE_KEYS - {"calls_per_day", "profile"}, "queue_defaults")
    queues_raw = doc.get("queues")
    if not isinstance(queues_raw, Mapping) or not queues_raw:
        msg = "queues: expected a mapping of queue name -> settings"
        raise ConfigError(msg)
    queues = tuple(_queue(str(n), q or {}, defaults) for n, q in queues_raw.items())
    named_breaks = {"default": [], "none": [], **(doc.get("break_plans") or {})}
    agents = tuple(_group(g, i, named_breaks) for i, g in enumerate(doc.get("agents") or ()))
    effects = tuple(_effect(e, f"effects[{i}]") for i, e in enumerate(doc.get("effects") or ()))
    return CenterConfig(
        tenant=str(doc.get("tenant", "demo")),
        timezone=str(doc.get("timezone", "UTC")),
        queues=queues,
        agents=agents,
        profile=_profile(doc.get("profile"), "profile"),
        day_factors=_day_factors(doc.get("day_factors")),
        effects=effects,
    )


def _effect(raw: Any, where: str) -> Effect:
    if not isinstance(raw, Mapping):
        msg = f"{where}: expected a mapping"
        raise ConfigError(msg)
    _check_keys(raw, {"kind", "factor", "start", "end", "duration", "queues"}, where)
    kind = raw.get("kind")
    if kind not in EFFECT_KINDS:
        msg = f"{where}.kind: expected one of {', '.join(EFFECT_KINDS)}, got {kind!r}"
        raise ConfigError(msg)
    factor = raw.get("factor")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor < 0:
        msg = f"{where}.factor: expected a number >= 0, got {factor!r}"
        raise ConfigError(msg)
    if kind == "staffing" and factor > 1:
        msg = f"{where}.factor: staffing removes agents, so 0 <= factor <= 1, got {factor!r}"
        raise ConfigError(msg)
    start = parse_clock(raw.get("start", "00:00"), f"{where}.start")
    if "end" in raw and "duration" in raw:
        msg = f"{where}: give end or duration, not both"
        raise ConfigError(msg)
    if "duration" in raw:
        end = start + parse_duration(raw["duration"], f"{where}.duration") / 60
    else:
        end = parse_clock(raw.get("end", "24:00"), f"{where}.end")
        if end <= start:
            end += 1440
    queues = raw.get("queues")
    if isinstance(queues, str):
        queues = [queues]
    return Effect(kind, float(factor), start, end, tuple(map(str, queues)) if queues else None)


def load_center(path: str | Path = BASE_CONFIG) -> CenterConfig:
    """Read a center from YAML. ``"base"`` names the shipped base configuration."""
    p = BASE_CONFIG if str(path) == "base" else Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        msg = f"cannot read config {p}: {e}"
        raise ConfigError(msg) from e
    except yaml.YAMLError as e:
        msg = f"config {p} is not valid YAML: {e}"
        raise ConfigError(msg) from e
    try:
        return center_from_dict(doc)
    except ConfigError as e:
        msg = f"{p}: {e}"
        raise ConfigError(msg) from e


def shipped_scenarios() -> dict[str, Path]:
    """Scenario name -> file, for the scenarios shipped in ``simulators/scenarios``."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (``network_outage``) or a YAML file path."""
    p = shipped_scenarios().get(str(name_or_path)) or Path(name_or_path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        known = ", ".join(shipped_scenarios())
        msg = f"no scenario {name_or_path!r} (shipped: {known}): {e}"
        raise ConfigError(msg) from e
    except yaml.YAMLError as e:
        msg = f"scenario {p} is not valid YAML: {e}"
        raise ConfigError(msg) from e
    if not isinstance(doc, Mapping):
        msg = f"scenario {p}: expected a mapping with name, description, effects"
        raise ConfigError(msg)
    _check_keys(doc, {"name", "description", "effects"}, f"scenario {p}")
    effects = tuple(_effect(e, f"scenario {p} effects[{i}]") for i, e in enumerate(doc.get("effects") or ()))
    return Scenario(str(doc.get("name", p.stem)), str(doc.get("description", "")), effects)
