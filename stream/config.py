"""One settings object per process, built once at start-up and passed down.

Two layers, both validated at start with errors that name the setting and the bad value:

* :class:`Settings` — process settings from environment variables (prefix ``CALLPULSE_``):
  where Kafka and Redis are, topic names, batching, timeouts. Secrets are ``SecretStr``.
* :class:`CenterConfig` — the call centers themselves, from the YAML file named by
  ``CALLPULSE_CONFIG``: tenants, time zones, KPI knobs (SL thresholds and formula, short-abandon
  threshold, interval length, start of the day), queue groups and the thresholds that colour the
  wall board and drive the alert rules (one place for both).

``config/callpulse.example.yaml`` is the documented example.
"""

from __future__ import annotations

import os
import socket
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.errors import ConfigError

SlFormula = Literal["negative", "ignored", "positive", "answered_only"]
Direction = Literal["above", "below"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    """Amber at ``warn``, red at ``crit``; ``direction`` says which side is bad."""

    warn: float
    crit: float
    direction: Direction

    def level(self, value: float | None) -> str:
        """``ok``, ``warn``, ``crit`` or ``none`` (no data) for a value."""
        if value is None:
            return "none"
        bad = (lambda v, t: v >= t) if self.direction == "above" else (lambda v, t: v <= t)
        if bad(value, self.crit):
            return "crit"
        if bad(value, self.warn):
            return "warn"
        return "ok"


#: Defaults a center can override: fraction 0-1 for rates, seconds for times, counts for calls.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "service_level": Threshold(warn=0.80, crit=0.70, direction="below"),
    "answer_rate": Threshold(warn=0.90, crit=0.85, direction="below"),
    "abandon_rate": Threshold(warn=0.05, crit=0.10, direction="above"),
    "oldest_wait_s": Threshold(warn=30, crit=60, direction="above"),
    "waiting": Threshold(warn=10, crit=20, direction="above"),
    "aht_s": Threshold(warn=420, crit=600, direction="above"),
    "asa_s": Threshold(warn=20, crit=40, direction="above"),
}


def _check_thresholds(v: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if v is None:
        return None
    if not v or any(t <= 0 or t > 3600 for t in v):
        msg = f"sl_thresholds_s must be 1..3600 seconds, got {list(v)}"
        raise ValueError(msg)
    return tuple(sorted(set(v)))


def _check_short(v: float | None) -> float | None:
    if v is not None and not 0 <= v <= 600:
        msg = f"short_abandon_s must be 0..600 seconds, got {v}"
        raise ValueError(msg)
    return v


class KpiKnobs(_Strict):
    """The KPI definition knobs of docs/kpis.md (per tenant, overridable per queue)."""

    sl_thresholds_s: tuple[int, ...] = (15,)
    sl_formula: SlFormula = "negative"
    short_abandon_s: float = 0.0

    _thresholds = field_validator("sl_thresholds_s")(_check_thresholds)
    _short = field_validator("short_abandon_s")(_check_short)


class QueueConfig(_Strict):
    """Per-queue overrides: any knob left out falls back to the tenant's."""

    sl_thresholds_s: tuple[int, ...] | None = None
    sl_formula: SlFormula | None = None
    short_abandon_s: float | None = None
    label: str | None = None
    max_waiting: int | None = None  # calls-waiting limit for colours and the alert rule
    thresholds: dict[str, Threshold] = Field(default_factory=dict)

    _thresholds = field_validator("sl_thresholds_s")(_check_thresholds)
    _short = field_validator("short_abandon_s")(_check_short)


class TenantConfig(_Strict):
    """One call center: its clock, its KPI knobs, its queues and groups."""

    timezone: str = "UTC"
    interval_minutes: Literal[15, 30, 60] = 15
    day_start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    sl_thresholds_s: tuple[int, ...] = (15,)
    sl_formula: SlFormula = "negative"
    short_abandon_s: float = 0.0
    lang: Literal["zh", "en"] = "zh"
    label: str | None = None
    queues: dict[str, QueueConfig] = Field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)

    _thresholds = field_validator("sl_thresholds_s")(_check_thresholds)
    _short = field_validator("short_abandon_s")(_check_short)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            msg = f"timezone {v!r} is not an IANA time zone name (e.g. Asia/Shanghai)"
            raise ValueError(msg) from e
        return v

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def knobs(self, queue: str | None = None) -> KpiKnobs:
        """The effective KPI knobs for a queue (tenant defaults where the queue says nothing)."""
        q = self.queues.get(queue) if queue is not None else None
        return KpiKnobs(
            sl_thresholds_s=(q.sl_thresholds_s if q and q.sl_thresholds_s else self.sl_thresholds_s),
            sl_formula=(q.sl_formula if q and q.sl_formula else self.sl_formula),
            short_abandon_s=(
                q.short_abandon_s if q and q.short_abandon_s is not None else self.short_abandon_s
            ),
        )

    def threshold(self, metric: str, queue: str | None = None) -> Threshold | None:
        """Colour/alert threshold for a metric: queue override, tenant, then the defaults."""
        q = self.queues.get(queue) if queue is not None else None
        if q is not None and metric in q.thresholds:
            return q.thresholds[metric]
        if metric == "waiting" and q is not None and q.max_waiting is not None:
            return Threshold(warn=q.max_waiting * 0.5, crit=q.max_waiting, direction="above")
        return self.thresholds.get(metric) or DEFAULT_THRESHOLDS.get(metric)


class CenterConfig(_Strict):
    """All tenants. A tenant not listed uses ``defaults`` (so new tenants work at once)."""

    defaults: TenantConfig = Field(default_factory=TenantConfig)
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)

    def tenant(self, name: str) -> TenantConfig:
        return self.tenants.get(name, self.defaults)

    @classmethod
    def load(cls, path: Path | None) -> CenterConfig:
        """Read and validate the YAML file; a missing path means defaults for every tenant."""
        if path is None:
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            msg = f"CALLPULSE_CONFIG={path}: cannot read ({e.strerror})"
            raise ConfigError(msg) from e
        return cls.parse_yaml(text, source=str(path))

    @classmethod
    def parse_yaml(cls, text: str, source: str = "<config>") -> CenterConfig:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            msg = f"{source}: not valid YAML: {e}"
            raise ConfigError(msg) from e
        if not isinstance(doc, dict):
            msg = f"{source}: the top level must be a mapping with 'defaults' and 'tenants'"
            raise ConfigError(msg)
        # Each tenant inherits the defaults section, then overrides.
        base = doc.get("defaults") or {}
        tenants = {name: {**base, **(body or {})} for name, body in (doc.get("tenants") or {}).items()}
        try:
            return cls.model_validate({"defaults": base, "tenants": tenants})
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            msg = f"{source}: {problems}"
            raise ConfigError(msg) from e


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


#: Timeouts of the workers' Redis connections (the fold's and the alert runner's).
REDIS_OPTIONS: dict[str, Any] = {
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "health_check_interval": 15,
}


class Settings(BaseSettings):
    """Process settings from ``CALLPULSE_*`` environment variables (see README's table)."""

    model_config = SettingsConfigDict(env_prefix="CALLPULSE_", frozen=True, extra="ignore")

    kafka_broker: str = "kafka://127.0.0.1:9092"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    config: Path | None = None  # YAML of tenants (CenterConfig)
    events_topic: str = "callpulse.events"
    deadletter_topic: str = "callpulse.deadletter"
    partitions: Annotated[int, Field(ge=1, le=1024)] = 8
    app_id: str = "callpulse"
    key_prefix: str = "cp"
    dedupe_horizon_s: Annotated[int, Field(ge=60)] = 86_400
    batch_max: Annotated[int, Field(ge=1, le=100_000)] = 2_000
    batch_within_s: Annotated[float, Field(gt=0, le=10)] = 0.02
    session_timeout_s: Annotated[float, Field(ge=6)] = 10.0  # Tansu holds joins session/2
    heartbeat_interval_s: Annotated[float, Field(gt=0)] = 2.5
    heartbeat_ttl_s: Annotated[int, Field(ge=2)] = 30
    fetch_max_wait_ms: Annotated[int, Field(ge=10, le=5000)] = 100  # see stream.app.tune_fetch_wait
    worker_id: str = Field(default_factory=_default_worker_id)
    web_port: int | None = None  # Faust's web server: None = disabled
    dashboard_url: str = "http://127.0.0.1:8501"
    alerts_rules: Path | None = None  # YAML alert rules (stream/alerts, docs/alerts.md)
    alerts_interval_s: Annotated[float, Field(gt=0, le=300)] = 5.0  # evaluation period, seconds
    alerts_history_ttl_s: Annotated[int, Field(ge=60)] = 30 * 86_400  # history kept after last change
    alerts_history_max: Annotated[int, Field(ge=10)] = 10_000  # history entries kept per tenant
    alerts_channel_env_prefix: str = "CALLPULSE_CHANNEL_"  # channel NAME -> URL in PREFIX + NAME
    alerts_delivery_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0  # per send attempt
    alerts_delivery_attempts: Annotated[int, Field(ge=1, le=100)] = 8  # then recorded as given up
    alerts_retry_base_s: Annotated[float, Field(gt=0)] = 2.0  # backoff: base * 2^(attempt-1) ...
    alerts_retry_max_s: Annotated[float, Field(gt=0)] = 300.0  # ... capped at this
    alerts_delivery_concurrency: Annotated[int, Field(ge=1, le=32)] = 4  # sends in flight
    log_level: Literal["crit", "error", "warn", "info", "debug"] = "info"  # Faust's names

    @field_validator("kafka_broker")
    @classmethod
    def _broker(cls, v: str) -> str:
        for part in v.replace(";", ",").split(","):
            if not part.strip().startswith("kafka://"):
                msg = f"CALLPULSE_KAFKA_BROKER={v!r}: each broker must look like kafka://host:port"
                raise ValueError(msg)
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, v: SecretStr) -> SecretStr:
        url = v.get_secret_value()
        if not url.startswith(("redis://", "rediss://", "unix://")):
            msg = "CALLPULSE_REDIS_URL must start with redis://, rediss:// (TLS) or unix://"
            raise ValueError(msg)
        return v

    @cached_property
    def center(self) -> CenterConfig:
        return CenterConfig.load(self.config)


def settings_error(e: ValidationError) -> ConfigError:
    """One message naming every bad ``CALLPULSE_*`` variable and what is wrong with it."""
    problems = "; ".join(
        f"CALLPULSE_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in e.errors()
    )
    return ConfigError(problems)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings (environment + overrides) and validate the center config at once."""
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        raise settings_error(e) from e
    _ = settings.center  # fail at start, not at the first event
    return settings
