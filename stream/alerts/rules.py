"""The alert rules file: a YAML model, validation that names the line, and reload on change.

A file has ``channels`` (name -> environment variable holding the Apprise URL, and a language),
optional ``defaults`` merged into every rule, and ``rules``. ``config/alerts.yaml`` is the
shipped default; docs/alerts.md describes every field. Errors are :class:`RulesError` with
messages such as ``alerts.yaml line 14: rules[1].threshold: expected a number, a percentage
("80%"), "warn" or "crit", got 'high'``.

:class:`RulesFile` re-reads the file when its modification time or size changes; a file that
does not validate is reported (log and :attr:`RulesFile.error`) and the last good rules stay.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from stream.config import TenantConfig, Threshold
from stream.errors import ConfigError
from stream.kpis import DEFINITIONS

log = logging.getLogger(__name__)


class RulesError(ConfigError):
    """The rules file is unreadable or invalid; the message names the file, line and problem."""


# -- metrics and windows -------------------------------------------------------------------------

#: Windows of the aggregates a rule can look at (stream.query.QueueView).
Window = Literal["interval", "rolling_5", "rolling_15", "rolling_60", "today", "live"]
WINDOW_ALIASES = {"5m": "rolling_5", "15m": "rolling_15", "60m": "rolling_60", "1h": "rolling_60"}

#: Metrics of the live state (window ``live``): per queue unless marked tenant-wide.
LIVE_METRICS = frozenset(
    {
        "waiting",
        "oldest_wait_s",
        "agents_available",
        "agents_on_call",
        "agents_wrap_up",
        "agents_aux",
        "agents_logged_in",
        "heartbeat_age_s",
        "data_age_s",
    }
)
#: Metrics that belong to the tenant as a whole (the stream's health): evaluated once, queue "*".
TENANT_METRICS = frozenset({"heartbeat_age_s", "data_age_s"})
#: Windowed KPI names of stream.kpis.compute (plus the per-threshold service levels).
WINDOW_METRICS = frozenset(
    {
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "overflowed",
        "closed",
        "ended",
        "wrapups",
        "answer_rate",
        "abandon_rate",
        "asa_s",
        "max_wait_s",
        "aht_s",
        "avg_talk_s",
        "avg_hold_s",
        "avg_acw_s",
        "service_level",
    }
)
_PER_THRESHOLD = re.compile(r"^(service_level|answered_within|abandoned_within)_(\d{1,4})$")
VOLUME_COUNTERS = ("closed", "offered", "answered", "ended")
#: Names of KPIs documented in stream.kpis.DEFINITIONS (for error messages).
_DOCUMENTED = tuple(d[0] for d in DEFINITIONS)

Op = Literal[">", ">=", "<", "<="]
Severity = Literal["info", "warning", "critical"]
THRESHOLD_LEVELS = ("warn", "crit")


def is_live(metric: str) -> bool:
    return metric in LIVE_METRICS


def known_metric(metric: str) -> bool:
    return metric in LIVE_METRICS or metric in WINDOW_METRICS or bool(_PER_THRESHOLD.match(metric))


def threshold_metric(metric: str) -> str:
    """The wall-board threshold name of a metric: ``service_level_20`` uses ``service_level``."""
    m = _PER_THRESHOLD.match(metric)
    return m.group(1) if m and m.group(1) == "service_level" else metric


# -- small parsers -------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86_400.0, None: 1.0}


def parse_duration(v: Any) -> float:
    """``"5m"``, ``"90s"``, ``"2h"``, ``"500ms"`` or a number of seconds -> seconds."""
    if isinstance(v, bool):
        msg = f"expected a duration such as 90s, 5m or 1h, got {v!r}"
        raise ValueError(msg)
    if isinstance(v, int | float):
        seconds = float(v)
    else:
        m = _DURATION.match(str(v))
        if not m:
            msg = f"expected a duration such as 90s, 5m or 1h, got {v!r}"
            raise ValueError(msg)
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds < 0:
        msg = f"a duration must be >= 0, got {v!r}"
        raise ValueError(msg)
    return seconds


def parse_threshold(v: Any) -> float | str:
    """A number, a percentage ``"80%"`` (-> 0.8), or ``warn``/``crit`` (the wall-board value)."""
    if isinstance(v, bool):
        msg = f'expected a number, a percentage ("80%"), "warn" or "crit", got {v!r}'
        raise ValueError(msg)
    if isinstance(v, int | float):
        return float(v)
    s = str(v).strip()
    if s in THRESHOLD_LEVELS:
        return s
    try:
        return float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        msg = f'expected a number, a percentage ("80%"), "warn" or "crit", got {v!r}'
        raise ValueError(msg) from None


def _window(v: Any) -> Any:
    return WINDOW_ALIASES.get(v, v) if isinstance(v, str) else v


def _names(v: Any) -> Any:
    return (v,) if isinstance(v, str) else v


Duration = Annotated[float, BeforeValidator(parse_duration)]
ThresholdValue = Annotated[float | str, BeforeValidator(parse_threshold)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]


# -- the model -----------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Channel(_Strict):
    """Where messages go: the Apprise URL is a secret read from an environment variable."""

    env: str | None = None  # default: CALLPULSE_ALERTS_CHANNEL_ENV_PREFIX + NAME in capitals
    lang: Literal["zh", "en"] = "en"

    @field_validator("env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            msg = f"env must be an environment variable name, got {v!r}"
            raise ValueError(msg)
        return v


class Condition(_Strict):
    """An extra condition that must also hold (``also:``), e.g. calls waiting > 0."""

    metric: str
    window: Annotated[Window | None, BeforeValidator(_window)] = None
    op: Op
    threshold: ThresholdValue


class Template(_Strict):
    """The headline of the message per language; placeholders as in docs/alerts.md."""

    en: str | None = None
    zh: str | None = None


class Rule(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")]
    description: str | None = None
    enabled: bool = True
    tenants: Names = ("*",)
    queues: Names = ("*",)
    metric: str
    window: Annotated[Window | None, BeforeValidator(_window)] = None
    op: Op | None = None
    threshold: ThresholdValue
    also: tuple[Condition, ...] = ()
    for_s: Duration = Field(default=0.0, alias="for")
    min_volume: Annotated[int, Field(ge=0)] = 0
    volume: Literal["closed", "offered", "answered", "ended"] = "closed"
    severity: Severity = "warning"
    cooldown_s: Duration = Field(default=1800.0, alias="cooldown")
    channels: Names | None = None
    message: Template = Field(default_factory=Template)

    @property
    def effective_window(self) -> str:
        return self.window or ("live" if is_live(self.metric) else "rolling_15")

    @property
    def tenant_wide(self) -> bool:
        return self.metric in TENANT_METRICS

    def matches_tenant(self, tenant: str) -> bool:
        return any(fnmatchcase(tenant, sel) for sel in self.tenants)

    def matches_queue(self, cfg: TenantConfig, queue: str) -> bool:
        """A selector is a queue name, a glob, or the name of a wall-board group of the tenant."""
        for sel in self.queues:
            if sel == "@total":
                continue
            if fnmatchcase(queue, sel) or queue in cfg.groups.get(sel, ()):
                return True
        return False

    def wants_total(self) -> bool:
        """``@total`` selects the tenant's totals over all queues (queue shown as ``@total``)."""
        return "@total" in self.queues

    def resolve_threshold(self, cfg: TenantConfig, queue: str | None) -> tuple[float, str] | None:
        """(threshold, op) for a queue: a fixed number, or the wall board's warn/crit value."""
        return resolve(self.metric, self.op, self.threshold, cfg, queue)


def resolve(
    metric: str, op: str | None, threshold: float | str, cfg: TenantConfig, queue: str | None
) -> tuple[float, str] | None:
    """A fixed threshold, or the board's: same numbers and same comparison as the colours."""
    if isinstance(threshold, float):
        assert op is not None  # validated
        return threshold, op
    board: Threshold | None = cfg.threshold(threshold_metric(metric), queue)
    if board is None:
        return None
    value = board.warn if threshold == "warn" else board.crit
    return value, op or (">=" if board.direction == "above" else "<=")


class RulesDoc(_Strict):
    version: Literal[1] = 1
    channels: dict[str, Channel] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """A validated rules file: rules by name (enabled ones only) and the channels."""

    rules: tuple[Rule, ...]
    channels: dict[str, Channel]
    source: str = "<rules>"

    def by_name(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def channels_of(self, rule: Rule) -> tuple[str, ...]:
        return rule.channels if rule.channels is not None else tuple(self.channels)


# -- parsing with line numbers -------------------------------------------------------------------


def _line_of(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest YAML node on the path ``loc`` (pydantic's error loc)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_ALIASES = {"for_s": "for", "cooldown_s": "cooldown"}


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    # pydantic puts the validator's function name into union/annotated locs; drop those parts.
    return [
        _ALIASES.get(p, p) if isinstance(p, str) else p
        for p in loc
        if not (isinstance(p, str) and ("[" in p or p.startswith(("function-", "float", "str"))))
    ]


def _semantic_checks(doc: RulesDoc) -> list[tuple[list[str | int], str]]:
    """Checks across fields: known metrics, windows, channels, unique names, templates."""
    problems: list[tuple[list[str | int], str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(doc.rules):
        at: list[str | int] = ["rules", i]
        if rule.name in seen:
            problems.append(([*at, "name"], f"duplicate rule name {rule.name!r}"))
        seen.add(rule.name)
        conds = [(rule.metric, rule.window, rule.op, rule.threshold, at)]
        conds += [(c.metric, c.window, c.op, c.threshold, [*at, "also", j]) for j, c in enumerate(rule.also)]
        for metric, window, op, threshold, where in conds:
            if not known_metric(metric):
                problems.append(
                    (
                        [*where, "metric"],
                        f"unknown metric {metric!r}; use a KPI of docs/kpis.md "
                        f"({', '.join(_DOCUMENTED)}, service_level_<T>) or one of "
                        f"{', '.join(sorted(LIVE_METRICS))}",
                    )
                )
            elif is_live(metric) and window not in (None, "live"):
                problems.append(
                    ([*where, "window"], f"{metric} is live state: use window live (or leave it out)")
                )
            elif not is_live(metric) and window == "live":
                problems.append(
                    (
                        [*where, "window"],
                        f"{metric} needs a window: interval, rolling_5, rolling_15, rolling_60 or today",
                    )
                )
            if isinstance(threshold, float) and op is None:
                problems.append(([*where, "threshold"], "a numeric threshold needs op: one of >, >=, <, <="))
        if rule.min_volume and is_live(rule.metric):
            problems.append(
                (
                    [*at, "min_volume"],
                    f"min_volume counts calls in a window; {rule.metric} "
                    "is live state (use also: with a windowed condition instead)",
                )
            )
        for name in doc.channels if rule.channels is None else rule.channels:
            if name not in doc.channels:
                problems.append(
                    (
                        [*at, "channels"],
                        f"unknown channel {name!r}; declared: {', '.join(doc.channels) or 'none'}",
                    )
                )
        from stream.alerts.messages import check_template  # here: messages imports this module

        for lang in ("en", "zh"):
            text = getattr(rule.message, lang)
            err = check_template(text) if text else None
            if err:
                problems.append(([*at, "message", lang], err))
    return problems


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Validate a rules document; every problem is reported with its line."""
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        ctx, ctx_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if ctx and ctx_mark is not None and ctx_mark is not mark:
            problem += f" ({ctx} at line {ctx_mark.line + 1})"
        msg = f"{source}{at}: not valid YAML: {problem}"
        raise RulesError(msg) from e
    raw = raw or {}
    if not isinstance(raw, dict):
        msg = f"{source} line 1: the top level must be a mapping with 'channels' and 'rules'"
        raise RulesError(msg)
    if "rules" not in raw:
        msg = f"{source} line 1: no 'rules' list (write 'rules: []' for none on purpose)"
        raise RulesError(msg)
    defaults = raw.get("defaults") or {}
    rules = raw.get("rules")
    if isinstance(defaults, dict) and isinstance(rules, list):
        raw = {**raw, "rules": [{**defaults, **r} if isinstance(r, dict) else r for r in rules]}
    try:
        doc = RulesDoc.model_validate(raw)
        problems = _semantic_checks(doc)
    except ValidationError as e:
        problems = [(_clean_loc(err["loc"]), _pydantic_msg(err)) for err in e.errors()]
    if problems:
        out = []
        for loc, problem in problems:
            line = _line_of(root, loc)
            out.append(f"{source}{f' line {line}' if line else ''}: {_path(loc)}: {problem}")
        raise RulesError("\n".join(out))
    enabled = tuple(r for r in doc.rules if r.enabled)
    return RuleSet(enabled, dict(doc.channels), source)


def _pydantic_msg(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in (
        "literal_error",
        "missing",
        "extra_forbidden",
        "string_pattern_mismatch",
        "int_type",
        "greater_than_equal",
        "bool_type",
        "float_type",
        "tuple_type",
        "dict_type",
    ):
        got = err.get("input")
        if err["type"] != "missing" and not isinstance(got, dict | list):
            msg += f" (got {got!r})"
    return msg


def load_rules(path: Path) -> RuleSet:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        msg = f"{path}: cannot read the alert rules ({e.strerror})"
        raise RulesError(msg) from e
    return parse_rules(text, source=str(path))


class RulesFile:
    """The rules of a file, re-read when it changes; an invalid file keeps the last good rules.

    ``current()`` is cheap (one ``stat``) and is called on every evaluation tick. A change is
    read once it has settled — the same modification time and size on two checks in a row, or a
    modification time ``SETTLE_S`` in the past — so a file caught half-written by an editor is
    not taken for the new rules (a truncated file can be valid YAML with fewer rules).
    """

    SETTLE_S = 1.0

    def __init__(
        self,
        path: Path,
        on_change: Callable[[RulesFile], None] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.path = path
        self._clock_ns = clock_ns
        self._seen: tuple[int, int] | None = None
        self.rules: RuleSet | None = None
        self.error: str | None = None
        self.version = 0  # bumps on every successful (re)load
        self._stamp: tuple[int, int] | None = None
        self._on_change = on_change
        self._mutex = threading.Lock()  # evaluator and delivery threads both ask

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def current(self) -> RuleSet | None:
        with self._mutex:
            stamp = self._stat()
            first = self.rules is None and self.error is None
            if stamp != self._stamp or first:
                settled = (
                    first
                    or stamp is None
                    or stamp == self._seen
                    or self._clock_ns() - stamp[0] >= self.SETTLE_S * 1e9
                )
                self._seen = stamp
                if settled:
                    self._stamp = stamp
                    self.reload()
            return self.rules

    def reload(self) -> None:
        try:
            rules = load_rules(self.path)
        except RulesError as e:
            self.error = str(e)
            kept = (
                f"keeping the last good rules ({len(self.rules.rules)})" if self.rules else "no rules active"
            )
            log.error("alert rules rejected; %s:\n%s", kept, self.error)
        else:
            self.rules, self.error = rules, None
            self.version += 1
            log.info("alert rules loaded from %s: %d rules", self.path, len(rules.rules))
        if self._on_change is not None:
            self._on_change(self)
