"""The ``query`` command: KPIs from Redis as JSON (field names as in docs/kpis.md)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import redis as redis_lib

from stream.app import wall_ms
from stream.config import Settings, load_settings
from stream.keys import Keys
from stream.query import ROLLING_WINDOWS, KpiReader
from stream.windows import business_day, day_bounds


def reader_for(settings: Settings) -> KpiReader:
    client = redis_lib.Redis.from_url(settings.redis_url.get_secret_value(), socket_timeout=10)
    return KpiReader(client, settings.center, Keys(settings.key_prefix))


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "counts"}


def run_query(args: argparse.Namespace, settings: Settings | None = None) -> Any:
    from stream.__main__ import _ms

    settings = settings or load_settings()
    reader = reader_for(settings)
    tenant = args.tenant
    cfg = settings.center.tenant(tenant)
    now = _ms(args.now) or wall_ms()
    queues = args.queue
    if args.window == "tenants":
        return {"tenants": reader.tenants()}
    if args.window == "deadletter":
        return reader.deadletter()
    day = business_day(now, cfg.tz, cfg.day_start_hour)
    if args.window in ("intervals", "total"):
        d_s, d_e = day_bounds(day, cfg.tz, cfg.day_start_hour)
        start = _ms(args.start) or d_s
        end = _ms(args.end) or d_e
        rows = reader.intervals(tenant, start, end, queues, total=args.window == "total")
        return {"tenant": tenant, "from_ms": start, "to_ms": end, "rows": [_strip(r) for r in rows]}
    if args.window == "rolling":
        return {
            "tenant": tenant,
            "now_ms": now,
            "windows": {
                f"last_{w}_min": {q: _strip(r) for q, r in reader.rolling(tenant, w, now, queues).items()}
                for w in ROLLING_WINDOWS
            },
        }
    if args.window == "today":
        return {
            "tenant": tenant,
            "day": day.isoformat(),
            "queues": {q: _strip(r) for q, r in reader.day_rows(tenant, day, queues).items()},
        }
    if args.window == "callbacks":
        return {"tenant": tenant, "day": day.isoformat(), "abandoned": reader.callbacks(tenant, day, queues)}
    # live
    waiting = reader.waiting(tenant, now, queues)
    agents = reader.agents(tenant)
    from stream.query import agent_counts

    return {
        "tenant": tenant,
        "now_ms": now,
        "queues": {
            q: {"waiting": w, "oldest_wait_s": o, "agents": agent_counts(agents, q)}
            for q, (w, o) in waiting.items()
        },
        "agents": agent_counts(agents),
        "agent_list": [dataclasses.asdict(a) | {"time_in_state_s": a.time_in_state_s(now)} for a in agents],
    }
