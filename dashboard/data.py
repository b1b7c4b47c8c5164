"""The dashboard's read layer: the only code of the dashboard that reads Redis.

It sits on :class:`stream.query.KpiReader` (the same numbers as the query command and the alert
evaluator) and returns plain dataclasses. Three things matter here:

* **One round trip per refresh.** Each view's data comes from one pipelined read (the wall
  board's from ``KpiReader.snapshot``).
* **One read per tick for all sessions.** :class:`TickCache` keeps the latest result per key
  and tick (``refresh_s``); thirty TVs on the same URL share one snapshot and even one rendered
  HTML block. (Not ``st.cache_data``: it pickles and copies the value on every hit, which for a
  50-queue snapshot cost more than the read. :class:`Source` lives in ``st.cache_resource``.)
* **Never a traceback.** Redis errors become ``problem="redis_down"`` and the last good
  snapshot is shown greyed out; the board recovers on the next tick when Redis answers.

Time is injected: every function takes ``now_ms`` (wall clock, epoch ms).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import orjson
import redis as redis_lib
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.config import CenterConfig, Settings, TenantConfig
from stream.events import AGENT_STATES
from stream.keys import Keys
from stream.kpis import Counts, merge
from stream.query import AgentRow, KpiReader, KpiRow, TenantSnapshot, agent_counts, as_text
from stream.windows import business_day, day_bounds, interval_start, intervals_between

log = logging.getLogger("callpulse.dashboard")
T = TypeVar("T")
WEEK_MS = 7 * 86_400_000


class DashboardSettings(BaseSettings):
    """Dashboard knobs from ``CALLPULSE_DASHBOARD_*`` environment variables (docs/dashboard.md)."""

    model_config = SettingsConfigDict(env_prefix="CALLPULSE_DASHBOARD_", frozen=True, extra="ignore")

    stale_after_s: float = Field(5.0, gt=0)  # heartbeat older than this -> "data stopped" banner
    refresh_s: float = Field(1.0, gt=0, le=60)  # wall board refresh period, seconds
    rotate_s: float = Field(10.0, gt=0)  # seconds per page when a group has more tiles than fit
    tiles_per_page: int = Field(12, ge=1, le=24)
    aux_limit_s: float = Field(900.0, gt=0)  # agents list: aux longer than this is highlighted
    wrapup_limit_s: float = Field(120.0, gt=0)  # agents list: wrap-up longer than this is highlighted
    redis_timeout_s: float = Field(1.0, gt=0)  # socket timeouts: a dead Redis must not hang a page
    agent_sample_s: float = Field(15.0, gt=0)  # agents-by-state chart sampling period


# -- plain results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    """A firing alert as the alert evaluator writes it (contract in docs/dashboard.md)."""

    id: str
    rule: str
    severity: str
    queue: str | None
    metric: str | None
    value: float | None
    threshold: float | None
    since_ms: int | None
    message_en: str
    message_zh: str

    def message(self, lang: str) -> str:
        return (self.message_zh if lang == "zh" else self.message_en) or self.message_en or self.rule


@dataclass
class WallData:
    """What one wall-board tick shows: a snapshot (maybe old), its health and firing alerts."""

    tenant: str
    group: str | None
    queues: list[str]
    now_ms: int
    snapshot: TenantSnapshot | None
    read_ms: int | None  # wall ms of the snapshot shown (older than now when Redis is down)
    problem: str | None  # None, "redis_down", "stale", "no_worker", "unknown_group"
    heartbeat_age_s: float | None
    alerts: list[Alert] = field(default_factory=list)
    deadletter_total: int = 0


@dataclass
class RangeReport:
    """Interval rows of a date/time range at a granularity, for the overview and comparison."""

    tenant: str
    queues: list[str]
    granularity: str  # "interval", "hour" or "day"
    totals: list[KpiRow]  # per bucket, summed over the queues, oldest first
    per_queue: list[KpiRow]  # per bucket and queue (only buckets with data)
    last_week: list[KpiRow]  # same buckets 7 days earlier, summed (start_ms shifted +7 days)
    queue_totals: list[KpiRow]  # whole range per queue
    grand_total: KpiRow


@dataclass
class AgentsView:
    agents: list[AgentRow]
    counts: dict[str, int]
    over_limit: set[str]  # agent ids whose aux / wrap-up passed its limit
    samples: list[tuple[int, dict[str, int]]]  # (ms, counts): workers' minute samples


@dataclass
class AlertsView:
    firing: list[Alert]
    history: list[dict[str, Any]]
    failures: list[dict[str, Any]]


@dataclass
class OpsView:
    workers: dict[str, float]  # worker id -> heartbeat age (s)
    dlq_counts: dict[str, int]
    dlq_recent: list[dict[str, Any]]


# -- sharing ----------------------------------------------------------------------------------------
class TickCache:
    """The latest value per key, valid for one tick; concurrent callers of a key load it once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[int, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, tick: int, load: Callable[[], T]) -> T:
        hit = self._values.get(key)
        if hit is not None and hit[0] == tick:
            return hit[1]  # type: ignore[no-any-return]
        with self._lock:
            klock = self._locks.setdefault(key, threading.Lock())
        with klock:
            hit = self._values.get(key)
            if hit is not None and hit[0] == tick:
                return hit[1]  # type: ignore[no-any-return]
            value = load()
            self._values[key] = (tick, value)
            return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def _json(raw: bytes | str) -> dict[str, Any] | None:
    try:
        d = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return d if isinstance(d, dict) else None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def parse_alert(aid: str, raw: bytes | str) -> Alert | None:
    """One field of the firing hash; anything malformed is skipped (the writer is another team's)."""
    d = _json(raw)
    if d is None:
        return None
    since = d.get("since_ms")
    return Alert(
        id=aid,
        rule=str(d.get("rule") or aid),
        severity=str(d.get("severity") or "warning"),
        queue=d.get("queue") if isinstance(d.get("queue"), str) else None,
        metric=d.get("metric") if isinstance(d.get("metric"), str) else None,
        value=_num(d.get("value")),
        threshold=_num(d.get("threshold")),
        since_ms=int(since) if isinstance(since, int | float) else None,
        message_en=str(d.get("message_en") or ""),
        message_zh=str(d.get("message_zh") or ""),
    )


def _severity_rank(a: Alert) -> tuple[int, int]:
    rank = {"critical": 0, "crit": 0, "warning": 1, "warn": 1}.get(a.severity, 2)
    return rank, a.since_ms or 0


# -- the source ---------------------------------------------------------------------------------------
class Source:
    """Redis client, reader and shared caches of one dashboard process (one per settings)."""

    def __init__(self, settings: Settings, dash: DashboardSettings | None = None) -> None:
        self.settings = settings
        self.dash = dash or DashboardSettings()
        self.center: CenterConfig = settings.center
        self.keys = Keys(settings.key_prefix)
        t = self.dash.redis_timeout_s
        self.client = redis_lib.Redis.from_url(
            settings.redis_url.get_secret_value(), socket_timeout=t, socket_connect_timeout=t
        )
        self.reader = KpiReader(self.client, self.center, self.keys)
        self.cache = TickCache()
        self.round_trips = 0  # pipelined reads made (tests and the bench check sharing)
        self._last_good: dict[Hashable, tuple[int, TenantSnapshot]] = {}
        self._samples: dict[str, deque[tuple[int, dict[str, int]]]] = {}

    def close(self) -> None:
        self.client.close()

    def tick(self, now_ms: int, period_s: float | None = None) -> int:
        return int(now_ms // ((period_s or self.dash.refresh_s) * 1000))

    def tenant_cfg(self, tenant: str) -> TenantConfig:
        return self.center.tenant(tenant)

    # -- catalogues ---------------------------------------------------------------------------------
    def tenants(self, now_ms: int) -> list[str]:
        """Configured tenants and those seen in Redis (re-read every 30 s)."""

        def load() -> list[str]:
            self.round_trips += 1
            return self.reader.tenants()

        try:
            seen = self.cache.get(("tenants",), self.tick(now_ms, 30), load)
        except redis_lib.RedisError:
            seen = []
        return sorted(set(self.center.tenants) | set(seen))

    def queues(self, tenant: str, now_ms: int) -> list[str]:
        """The tenant's queues: configured ones and those seen in events (re-read every 30 s)."""

        def load() -> list[str]:
            self.round_trips += 1
            return self.reader.queues(tenant)

        cfg = self.tenant_cfg(tenant)
        try:
            seen = self.cache.get(("queues", tenant), self.tick(now_ms, 30), load)
        except redis_lib.RedisError:
            seen = []
        grouped = [q for qs in cfg.groups.values() for q in qs]
        return sorted(set(cfg.queues) | set(grouped) | set(seen))

    def group_queues(self, tenant: str, group: str | None, now_ms: int) -> list[str] | None:
        """Queues of a configured group (``None`` if the group is unknown); no group = all."""
        if not group:
            return self.queues(tenant, now_ms)
        qs = self.tenant_cfg(tenant).groups.get(group)
        return list(qs) if qs is not None else None

    def label(self, tenant: str, queue: str) -> str:
        q = self.tenant_cfg(tenant).queues.get(queue)
        return q.label if q is not None and q.label else queue

    # -- wall board -----------------------------------------------------------------------------------
    def wall(self, tenant: str, group: str | None, now_ms: int) -> WallData:
        """The wall board's data for this tick, shared by every session showing the same group."""
        return self.cache.get(
            ("wall", tenant, group), self.tick(now_ms), lambda: self._wall(tenant, group, now_ms)
        )

    def _wall(self, tenant: str, group: str | None, now_ms: int) -> WallData:
        queues = self.group_queues(tenant, group, now_ms)
        if queues is None:
            return WallData(tenant, group, [], now_ms, None, None, "unknown_group", None)
        key = (tenant, tuple(queues))
        firing_key = f"{self.keys.alert_prefix(tenant)}:firing"
        try:
            self.round_trips += 1
            # One round trip per tick: the firing alerts ride along with the snapshot.
            snap = self.reader.snapshot(tenant, now_ms, queues, extra=lambda pipe: pipe.hgetall(firing_key))
        except redis_lib.RedisError as e:
            log.warning("wall board read failed: %s", e)
            read_ms, old = self._last_good.get(key, (None, None))
            return WallData(tenant, group, queues, now_ms, old, read_ms, "redis_down", None, [])
        alerts = sorted(
            (a for k, v in snap.extra[0].items() if (a := parse_alert(as_text(k), v)) is not None),
            key=_severity_rank,
        )
        self._last_good[key] = (now_ms, snap)
        self._sample_agents(tenant, now_ms, snap.agents)
        age = snap.heartbeat_age_s
        problem = None
        if age is None:
            problem = "no_worker"
        elif age > self.dash.stale_after_s:
            problem = "stale"
        dlq = sum(snap.deadletter.values())
        return WallData(tenant, group, queues, now_ms, snap, now_ms, problem, age, alerts, dlq)

    def range_report(
        self, tenant: str, queues: Sequence[str], start_ms: int, end_ms: int, granularity: str = "interval"
    ) -> RangeReport:
        """Interval rows for ``[start_ms, end_ms)`` and the same span a week earlier: one round trip."""
        cfg = self.tenant_cfg(tenant)
        qs = list(queues)
        spans = list(intervals_between(start_ms, end_ms, cfg.tz, cfg.interval_minutes))
        pipe = self.client.pipeline(transaction=False)
        for shift in (0, WEEK_MS):
            for q in qs:
                for s, _ in spans:
                    pipe.hgetall(self.keys.interval(tenant, q, s - shift))
        self.round_trips += 1
        raw = pipe.execute()
        n = len(qs) * len(spans)
        now_c = [{as_text(k): int(v) for k, v in h.items()} for h in raw[:n]]
        old_c = [{as_text(k): int(v) for k, v in h.items()} for h in raw[n:]]

        def bucket(s: int) -> tuple[int, int]:
            if granularity == "hour":
                b = interval_start(s, cfg.tz, 60)
                return b, interval_start(b + 3_600_000 + 1, cfg.tz, 60)
            if granularity == "day":
                return day_bounds(business_day(s, cfg.tz, cfg.day_start_hour), cfg.tz, cfg.day_start_hour)
            return s, s + cfg.interval_minutes * 60_000

        buckets: dict[int, int] = {}
        per_q: dict[tuple[int, str], Counts] = {}
        tot: dict[int, Counts] = {}
        old: dict[int, Counts] = {}
        q_tot: dict[str, Counts] = {q: {} for q in qs}
        i = 0
        for q in qs:
            for s, _ in spans:
                b, e = bucket(s)
                buckets[b] = e
                c, o = now_c[i], old_c[i]
                i += 1
                if c:
                    per_q[(b, q)] = merge(per_q.get((b, q), {}), c)
                    q_tot[q] = merge(q_tot[q], c)
                tot[b] = merge(tot.get(b, {}), c)
                old[b] = merge(old.get(b, {}), o)
        row = self.reader.row
        grand: Counts = {}
        for c in q_tot.values():
            grand = merge(grand, c)
        return RangeReport(
            tenant=tenant,
            queues=qs,
            granularity=granularity,
            totals=[row(tenant, None, tot[b], b, e) for b, e in sorted(buckets.items())],
            per_queue=[row(tenant, q, c, b, buckets[b]) for (b, q), c in sorted(per_q.items())],
            last_week=[row(tenant, None, old[b], b, e) for b, e in sorted(buckets.items()) if old[b]],
            queue_totals=[row(tenant, q, q_tot[q], start_ms, end_ms) for q in qs],
            grand_total=row(tenant, None, grand, start_ms, end_ms),
        )

    def agents_view(self, tenant: str, now_ms: int) -> AgentsView:
        self.round_trips += 1
        agents, stored = self.reader.agents_and_history(tenant, now_ms - 86_400_000, now_ms + 1)
        self._sample_agents(tenant, now_ms, agents)
        over = set()
        for a in agents:
            t_s = a.time_in_state_s(now_ms)
            if (a.state == "aux" and t_s > self.dash.aux_limit_s) or (
                a.state == "wrap_up" and t_s > self.dash.wrapup_limit_s
            ):
                over.add(a.agent_id)
        # History as the workers sampled it (survives dashboard restarts); this process's own
        # samples fill in where the workers wrote none (e.g. alerting-only deployments).
        history = stored or list(self._samples.get(tenant, ()))
        return AgentsView(agents, agent_counts(agents), over, history)

    def _sample_agents(self, tenant: str, now_ms: int, agents: Sequence[AgentRow]) -> None:
        # The store keeps only each agent's current state, so "agents by state over time" is
        # sampled here whenever a view reads the agents (wall board: every tick) — see docs.
        dq = self._samples.setdefault(tenant, deque(maxlen=int(86_400 / self.dash.agent_sample_s)))
        if dq and now_ms - dq[-1][0] < self.dash.agent_sample_s * 1000:
            return
        dq.append((now_ms, agent_counts(agents)))

    def callbacks(self, tenant: str, day: date, queues: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The day's abandoned calls, newest first, marked when the caller later got through."""
        self.round_trips += 1
        return self.reader.callbacks(tenant, day, queues)

    def today(self, tenant: str, now_ms: int) -> date:
        cfg = self.tenant_cfg(tenant)
        return business_day(now_ms, cfg.tz, cfg.day_start_hour)

    def day_span(self, tenant: str, day: date, days: int = 1) -> tuple[int, int]:
        cfg = self.tenant_cfg(tenant)
        s, _ = day_bounds(day, cfg.tz, cfg.day_start_hour)
        _, e = day_bounds(day + timedelta(days=days - 1), cfg.tz, cfg.day_start_hour)
        return s, e

    def alerts_view(self, tenant: str, limit: int = 200) -> AlertsView:
        prefix = self.keys.alert_prefix(tenant)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(f"{prefix}:firing")
        pipe.lrange(f"{prefix}:history", 0, limit - 1)
        pipe.lrange(f"{self.keys.prefix}:alert:delivery_failures", 0, limit - 1)
        self.round_trips += 1
        firing, history, failures = pipe.execute()
        alerts = [a for k, v in firing.items() if (a := parse_alert(as_text(k), v)) is not None]
        return AlertsView(
            firing=sorted(alerts, key=_severity_rank),
            history=[d for x in history if (d := _json(x)) is not None],
            failures=[d for x in failures if (d := _json(x)) is not None],
        )

    def ops_view(self, now_ms: int, limit: int = 50) -> OpsView:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.keys.workers)
        pipe.hgetall(self.keys.dlq_counts)
        pipe.lrange(self.keys.dlq_recent, 0, limit - 1)
        self.round_trips += 1
        workers, counts, recent = pipe.execute()
        return OpsView(
            workers={as_text(k): max(0.0, (now_ms - int(v)) / 1000) for k, v in workers.items()},
            dlq_counts={as_text(k): int(v) for k, v in counts.items()},
            dlq_recent=[d for x in recent if (d := _json(x)) is not None],
        )


def wall_clock_ms() -> int:
    """The real wall clock in epoch ms (views take ``now_ms`` so tests can fix it)."""
    return time.time_ns() // 1_000_000


__all__ = [
    "AGENT_STATES",
    "Alert",
    "AgentsView",
    "AlertsView",
    "DashboardSettings",
    "OpsView",
    "RangeReport",
    "Source",
    "TickCache",
    "WallData",
    "wall_clock_ms",
]
