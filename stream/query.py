"""Read KPIs back out of Redis: interval rows, rolling and today windows, live state, snapshots.

The one read layer shared by the query command, the dashboard (through ``dashboard/data.py``)
and the alert evaluator. Reads are pipelined: a whole wall-board snapshot of a tenant is one
round trip. Counters are summed with :func:`stream.kpis.merge` and turned into ratios by
:func:`stream.kpis.compute`, so every view shows the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
import redis as redis_lib

from stream.config import CenterConfig, KpiKnobs, TenantConfig
from stream.events import AGENT_STATES
from stream.keys import WAITING_STALE_S, Keys
from stream.kpis import Counts, compute, merge
from stream.windows import (
    MINUTE_MS,
    business_day,
    day_bounds,
    interval_start,
    intervals_between,
    rolling_minutes,
)

ROLLING_WINDOWS = (5, 15, 60)
KpiRow = dict[str, Any]


def _counts(raw: dict[bytes, bytes]) -> Counts:
    return {k.decode(): int(v) for k, v in raw.items()}


def as_text(v: bytes | str) -> str:
    """A Redis reply as text (clients may or may not decode responses)."""
    return v.decode() if isinstance(v, bytes) else v


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    state: str
    reason: str | None
    since_ms: int
    queues: tuple[str, ...] | None

    def time_in_state_s(self, now_ms: int) -> float:
        return max(0.0, (now_ms - self.since_ms) / 1000)


@dataclass
class QueueView:
    """Everything the wall board shows for one queue (or the totals of a group)."""

    queue: str
    interval_start_ms: int
    interval: KpiRow
    today: KpiRow
    rolling: dict[int, KpiRow]
    minutes: list[tuple[int, KpiRow]]  # last 60 minutes, oldest first
    waiting: int
    oldest_wait_s: float | None
    agents: dict[str, int]


@dataclass
class TenantSnapshot:
    tenant: str
    now_ms: int
    queues: dict[str, QueueView]
    totals: QueueView
    agents: list[AgentRow]
    meta: dict[str, int]
    workers: dict[str, int]  # worker id -> last heartbeat wall ms
    deadletter: dict[str, int] = field(default_factory=dict)
    extra: list[Any] = field(default_factory=list)  # replies of the caller's extra commands

    @property
    def heartbeat_age_s(self) -> float | None:
        if not self.workers:
            return None
        return max(0.0, (self.now_ms - max(self.workers.values())) / 1000)

    @property
    def data_age_s(self) -> float | None:
        last = self.meta.get("last_write_ms")
        return None if last is None else max(0.0, (self.now_ms - last) / 1000)


def parse_agents(raw: dict[bytes, bytes]) -> list[AgentRow]:
    rows = []
    for aid, body in raw.items():
        d = orjson.loads(body)
        rows.append(
            AgentRow(
                agent_id=as_text(aid),
                state=d["state"],
                reason=d.get("reason"),
                since_ms=int(d["ts"]),
                queues=tuple(d["queues"]) if d.get("queues") is not None else None,
            )
        )
    rows.sort(key=lambda a: a.agent_id)
    return rows


def agent_counts(agents: Iterable[AgentRow], queue: str | None = None) -> dict[str, int]:
    """Agents per state, for the tenant or for the agents serving one queue."""
    out = dict.fromkeys(AGENT_STATES, 0)
    for a in agents:
        if queue is None or (a.queues is not None and queue in a.queues):
            out[a.state] = out.get(a.state, 0) + 1
    return out


class KpiReader:
    """Read-only access to the aggregates, for one Redis client (sync; the dashboard is sync)."""

    def __init__(self, client: redis_lib.Redis, center: CenterConfig, keys: Keys) -> None:
        self.r = client
        self.center = center
        self.keys = keys

    # -- catalogues -------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        return sorted(as_text(t) for t in self.r.smembers(self.keys.tenants))  # type: ignore[union-attr]

    def queues(self, tenant: str) -> list[str]:
        return sorted(as_text(q) for q in self.r.smembers(self.keys.queues(tenant)))  # type: ignore[union-attr]

    def row(self, tenant: str, queue: str | None, counts: Counts, start_ms: int, end_ms: int) -> KpiRow:
        cfg = self.center.tenant(tenant)
        knobs = cfg.knobs(queue)
        return self._row(cfg, knobs, tenant, queue, counts, start_ms, end_ms)

    @staticmethod
    def _row(
        cfg: TenantConfig, knobs: KpiKnobs, tenant: str, queue: str | None, counts: Counts, s: int, e: int
    ) -> KpiRow:
        return {
            "tenant": tenant,
            "queue": queue,
            "start_ms": s,
            "end_ms": e,
            "start": datetime.fromtimestamp(s / 1000, cfg.tz).isoformat(),
            **compute(counts, knobs),
            "counts": counts,
        }

    # -- interval reports -------------------------------------------------------------------------
    def intervals(
        self,
        tenant: str,
        start_ms: int,
        end_ms: int,
        queues: Sequence[str] | None = None,
        *,
        total: bool = False,
        include_empty: bool = False,
    ) -> list[KpiRow]:
        """Interval rows per queue (or summed over the queues with ``total``), oldest first."""
        cfg = self.center.tenant(tenant)
        qs = list(queues) if queues is not None else self.queues(tenant)
        spans = list(intervals_between(start_ms, end_ms, cfg.tz, cfg.interval_minutes))
        pipe = self.r.pipeline(transaction=False)
        for q in qs:
            for s, _ in spans:
                pipe.hgetall(self.keys.interval(tenant, q, s))
        raw = pipe.execute()
        rows: list[KpiRow] = []
        per_span: dict[int, Counts] = {}
        i = 0
        for q in qs:
            for s, e in spans:
                c = _counts(raw[i])
                i += 1
                if total:
                    per_span[s] = merge(per_span.get(s, {}), c)
                elif c or include_empty:
                    rows.append(self.row(tenant, q, c, s, e))
        if total:
            for s, e in spans:
                c = per_span.get(s, {})
                if c or include_empty:
                    rows.append(self.row(tenant, None, c, s, e))
        rows.sort(key=lambda r: (r["start_ms"], r["queue"] or ""))
        return rows

    def day_rows(self, tenant: str, day: date, queues: Sequence[str] | None = None) -> dict[str, KpiRow]:
        """Whole-business-day KPIs per queue."""
        cfg = self.center.tenant(tenant)
        qs = list(queues) if queues is not None else self.queues(tenant)
        s, e = day_bounds(day, cfg.tz, cfg.day_start_hour)
        pipe = self.r.pipeline(transaction=False)
        for q in qs:
            pipe.hgetall(self.keys.day(tenant, q, day.isoformat()))
        return {q: self.row(tenant, q, _counts(c), s, e) for q, c in zip(qs, pipe.execute(), strict=True)}

    def rolling(
        self, tenant: str, minutes: int, now_ms: int, queues: Sequence[str] | None = None
    ) -> dict[str, KpiRow]:
        """The rolling window "last N minutes" per queue: current minute and the N-1 before it."""
        qs = list(queues) if queues is not None else self.queues(tenant)
        mins = rolling_minutes(now_ms, minutes)
        pipe = self.r.pipeline(transaction=False)
        for q in qs:
            for m in mins:
                pipe.hgetall(self.keys.minute(tenant, q, m))
        raw = pipe.execute()
        out: dict[str, KpiRow] = {}
        for n, q in enumerate(qs):
            acc: Counts = {}
            for c in raw[n * len(mins) : (n + 1) * len(mins)]:
                acc = merge(acc, _counts(c))
            out[q] = self.row(tenant, q, acc, mins[0], mins[-1] + MINUTE_MS)
        return out

    # -- live state -------------------------------------------------------------------------------
    def agents(self, tenant: str) -> list[AgentRow]:
        return parse_agents(self.r.hgetall(self.keys.agents(tenant)))  # type: ignore[arg-type]

    def agents_and_history(
        self, tenant: str, start_ms: int, end_ms: int, queue: str | None = None
    ) -> tuple[list[AgentRow], list[tuple[int, dict[str, int]]]]:
        """The agents now and, in the same round trip, agents per state once a minute in
        ``[start, end)`` (the minutes the workers sampled)."""
        mins = list(range(start_ms - start_ms % MINUTE_MS, end_ms, MINUTE_MS))
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.agents(tenant))
        for m in mins:
            pipe.hgetall(self.keys.agent_samples(tenant, m))
        current, *samples = pipe.execute()
        out = []
        for m, raw in zip(mins, samples, strict=True):
            if not raw:
                continue
            c = _counts(raw)
            if queue is None:
                out.append((m, {s: c.get(s, 0) for s in AGENT_STATES}))
            else:
                out.append((m, {s: c.get(f"{queue}|{s}", 0) for s in AGENT_STATES}))
        return parse_agents(current), out

    def waiting(
        self, tenant: str, now_ms: int, queues: Sequence[str] | None = None
    ) -> dict[str, tuple[int, float | None]]:
        """Calls waiting now and the oldest wait (s) per queue."""
        qs = list(queues) if queues is not None else self.queues(tenant)
        pipe = self.r.pipeline(transaction=False)
        for q in qs:
            self._queue_waiting(pipe, tenant, q, now_ms)
        raw = pipe.execute()
        return {q: self._waiting_result(raw[2 * i], raw[2 * i + 1], now_ms) for i, q in enumerate(qs)}

    def _queue_waiting(self, pipe: Any, tenant: str, queue: str, now_ms: int) -> None:
        k = self.keys.waiting(tenant, queue)
        floor = now_ms - WAITING_STALE_S * 1000
        pipe.zcount(k, floor, "+inf")
        pipe.zrangebyscore(k, floor, "+inf", start=0, num=1, withscores=True)

    @staticmethod
    def _waiting_result(
        count: int, oldest: list[tuple[bytes, float]], now_ms: int
    ) -> tuple[int, float | None]:
        if not count or not oldest:
            return 0, None
        return int(count), max(0.0, (now_ms - oldest[0][1]) / 1000)

    def callbacks(self, tenant: str, day: date, queues: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The day's abandoned calls, newest first, each marked when its caller later got through."""
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.abandons(tenant, day.isoformat()))
        pipe.zrange(self.keys.answered_callers(tenant, day.isoformat()), 0, -1, withscores=True)
        abandons, answered = pipe.execute()
        got = {as_text(k): int(v) for k, v in answered}
        rows = []
        for body in abandons.values():
            d = orjson.loads(body)
            if queues is not None and d["queue"] not in queues:
                continue
            caller = d.get("caller")
            later = got.get(caller) if caller else None
            d["wait_s"] = d.pop("wait_ms") / 1000
            d["got_through"] = later is not None and later > d["ts"]
            d["got_through_ms"] = later if d["got_through"] else None
            rows.append(d)
        rows.sort(key=lambda d: (-d["ts"], d["call_id"]))
        return rows

    # -- the wall board's snapshot: one round trip -----------------------------------------------
    def snapshot(
        self,
        tenant: str,
        now_ms: int,
        queues: Sequence[str] | None = None,
        extra: Callable[[Any], None] | None = None,
    ) -> TenantSnapshot:
        """Everything the wall board shows, in one pipelined round trip.

        ``extra(pipe)`` may queue more commands in the same round trip (the dashboard reads the
        firing alerts this way); their replies are in ``TenantSnapshot.extra``.
        """
        cfg = self.center.tenant(tenant)
        qs = list(queues) if queues is not None else self.queues(tenant)
        iv_start = interval_start(now_ms, cfg.tz, cfg.interval_minutes)
        iv_end = iv_start + cfg.interval_minutes * MINUTE_MS
        day = business_day(now_ms, cfg.tz, cfg.day_start_hour)
        day_s, day_e = day_bounds(day, cfg.tz, cfg.day_start_hour)
        mins = rolling_minutes(now_ms, 60)
        pipe = self.r.pipeline(transaction=False)
        for q in qs:
            pipe.hgetall(self.keys.interval(tenant, q, iv_start))
            pipe.hgetall(self.keys.day(tenant, q, day.isoformat()))
            for m in mins:
                pipe.hgetall(self.keys.minute(tenant, q, m))
            self._queue_waiting(pipe, tenant, q, now_ms)
        pipe.hgetall(self.keys.agents(tenant))
        pipe.hgetall(self.keys.meta(tenant))
        pipe.hgetall(self.keys.workers)
        pipe.hgetall(self.keys.dlq_counts)
        n_fixed = len(pipe.command_stack)
        if extra is not None:
            extra(pipe)
        raw = pipe.execute()
        extra_replies = raw[n_fixed:]
        per_q = 2 + len(mins) + 2
        agents = parse_agents(raw[len(qs) * per_q])
        meta = _counts(raw[len(qs) * per_q + 1])
        workers = _counts(raw[len(qs) * per_q + 2])
        dlq = _counts(raw[len(qs) * per_q + 3])
        views: dict[str, QueueView] = {}
        tot = {"iv": {}, "day": {}, "mins": [{} for _ in mins]}  # type: dict[str, Any]
        tot_wait, tot_oldest = 0, None
        for n, q in enumerate(qs):
            chunk = raw[n * per_q : (n + 1) * per_q]
            iv_c, day_c = _counts(chunk[0]), _counts(chunk[1])
            min_c = [_counts(c) for c in chunk[2 : 2 + len(mins)]]
            waiting, oldest = self._waiting_result(chunk[-2], chunk[-1], now_ms)
            views[q] = self._view(
                cfg,
                tenant,
                q,
                iv_start,
                iv_end,
                day_s,
                day_e,
                iv_c,
                day_c,
                mins,
                min_c,
                waiting,
                oldest,
                agent_counts(agents, q),
            )
            tot["iv"] = merge(tot["iv"], iv_c)
            tot["day"] = merge(tot["day"], day_c)
            tot["mins"] = [merge(a, b) for a, b in zip(tot["mins"], min_c, strict=True)]
            tot_wait += waiting
            if oldest is not None and (tot_oldest is None or oldest > tot_oldest):
                tot_oldest = oldest
        totals = self._view(
            cfg,
            tenant,
            None,
            iv_start,
            iv_end,
            day_s,
            day_e,
            tot["iv"],
            tot["day"],
            mins,
            tot["mins"],
            tot_wait,
            tot_oldest,
            agent_counts(agents),
        )
        return TenantSnapshot(tenant, now_ms, views, totals, agents, meta, workers, dlq, extra_replies)

    def _view(
        self,
        cfg: TenantConfig,
        tenant: str,
        queue: str | None,
        iv_s: int,
        iv_e: int,
        day_s: int,
        day_e: int,
        iv_c: Counts,
        day_c: Counts,
        mins: list[int],
        min_c: list[Counts],
        waiting: int,
        oldest: float | None,
        agents: dict[str, int],
    ) -> QueueView:
        knobs = cfg.knobs(queue)
        rolling: dict[int, KpiRow] = {}
        for w in ROLLING_WINDOWS:
            acc: Counts = {}
            for c in min_c[-w:]:
                acc = merge(acc, c)
            rolling[w] = self._row(cfg, knobs, tenant, queue, acc, mins[-w], mins[-1] + MINUTE_MS)
        return QueueView(
            queue=queue or "",
            interval_start_ms=iv_s,
            interval=self._row(cfg, knobs, tenant, queue, iv_c, iv_s, iv_e),
            today=self._row(cfg, knobs, tenant, queue, day_c, day_s, day_e),
            rolling=rolling,
            minutes=[
                (m, self._row(cfg, knobs, tenant, queue, c, m, m + MINUTE_MS))
                for m, c in zip(mins, min_c, strict=True)
            ],
            waiting=waiting,
            oldest_wait_s=oldest,
            agents=agents,
        )

    # -- operations ---------------------------------------------------------------------------------
    def offsets(self, topic: str) -> dict[int, int]:
        return {int(k): int(v) for k, v in self.r.hgetall(self.keys.offsets(topic)).items()}  # type: ignore[union-attr]

    def deadletter(self, limit: int = 50) -> dict[str, Any]:
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.dlq_counts)
        pipe.lrange(self.keys.dlq_recent, 0, limit - 1)
        counts, recent = pipe.execute()
        return {"counts": _counts(counts), "recent": [orjson.loads(x) for x in recent]}
