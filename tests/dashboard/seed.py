"""A deterministic call-center floor for the dashboard's tests, screenshots and bench.

``floor_events(tenant, queues, now_ms)`` makes the last hour of a busy floor (offers, answers,
abandons, talk, wrap-up, agents, calls still waiting — one queue past its oldest-wait limit),
and :func:`fill` writes events with the project's own :class:`~stream.store.StoreWriter` (the
same Lua path the worker uses), then sets the worker heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import yaml

from stream.config import CenterConfig
from stream.events import parse_event
from stream.keys import Keys
from stream.store import StoreWriter

T0 = 1_795_310_100_000  # 2026-11-22T01:15:00Z = 09:15 in Shanghai, an interval boundary
NOW = T0 + 9 * 60_000 + 30_000  # 09:24:30 local: the middle of an interval
TENANT = "acme"
QUEUES = [f"q{i:02d}" for i in range(1, 13)]
LABELS_ZH = [
    "普通业务",
    "宽带报修",
    "投诉建议",
    "话费查询",
    "套餐办理",
    "国际漫游",
    "企业客户",
    "英文服务",
    "充值缴费",
    "号码迁移",
    "积分兑换",
    "老年专席",
]


def center_config(queues: Sequence[str] = QUEUES, lang: str = "zh") -> dict[str, Any]:
    """The test center: Shanghai time, 15-min intervals, groups, Chinese queue labels."""
    labels = dict(zip(QUEUES, LABELS_ZH, strict=True))
    return {
        "defaults": {"timezone": "Asia/Shanghai", "lang": lang},
        "tenants": {
            TENANT: {
                "label": "华东客服中心",
                "lang": lang,
                "queues": {q: {"label": labels.get(q, q)} for q in queues},
                "groups": {"floor": list(queues), "pair": list(queues[:2]), "six": list(queues[:6])},
            }
        },
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def floor_events(tenant: str, queues: Sequence[str], now_ms: int, minutes: int = 60) -> list[dict[str, Any]]:
    """The last ``minutes`` of traffic plus live state; the same inputs give the same events."""
    evs: list[dict[str, Any]] = []

    def ev(kind: str, ts: int, **kw: Any) -> None:
        evs.append({"event_id": f"{kind}-{len(evs)}", "type": kind, "ts": ts, "tenant": tenant, **kw})

    for qi, q in enumerate(queues):
        for m in range(minutes, 0, -1):
            for k in range(2 + (qi + m) % 3):
                cid = f"{q}-{m}-{k}"
                t0 = now_ms - m * 60_000 + k * 7_000
                caller = f"138****{(qi * 37 + m * 3 + k) % 10000:04d}"
                ev("call_offered", t0, call_id=cid, queue=q, caller=caller)
                wait = 3 + (qi * 9 + m * 5 + k * 11) % (9 + 2 * qi)
                if (m * 7 + k * 3 + qi) % (29 - 2 * qi) == 0:
                    ev("call_abandoned", t0 + wait * 1000, call_id=cid, queue=q, wait_s=wait)
                    continue
                agent = f"{q}-a{k}"
                ev("call_answered", t0 + wait * 1000, call_id=cid, queue=q, agent_id=agent, wait_s=wait)
                talk = 120 + (m * 13 + k * 17 + qi * 5) % 200
                end = t0 + (wait + talk) * 1000
                if end < now_ms:
                    ev("call_ended", end, call_id=cid, queue=q, agent_id=agent, talk_s=talk, hold_s=10)
                    if end + 30_000 < now_ms:
                        ev("wrapup_ended", end + 30_000, call_id=cid, queue=q, agent_id=agent, acw_s=30)
        # calls waiting now: the last queue past the 60 s limit, a few past the 30 s warning
        for w in range(qi % 4):
            age_s = 8 + qi * 5 - w * 5
            ev(
                "call_offered",
                now_ms - age_s * 1000,
                call_id=f"{q}-wait-{w}",
                queue=q,
                caller=f"139****{w:04d}",
            )
        states = ["available", "on_call", "on_call", "on_call", "wrap_up", "aux", "on_call", "logged_out"]
        for a, state in enumerate(states[: 5 + qi % 4]):
            extra = {"reason": "lunch" if a % 2 else "training"} if state == "aux" else {}
            since = now_ms - (30 + a * 97 + qi * 41) * 1000
            ev("agent_state", since, agent_id=f"{q}-ag{a}", state=state, queues=[q], **extra)
    return evs


def fill(
    redis_url: str,
    prefix: str,
    center: CenterConfig,
    events: Sequence[dict[str, Any]],
    now_ms: int,
    *,
    heartbeat: bool = True,
) -> None:
    """Write events through the real store writer (Lua, exactly-once) and beat the heartbeat."""
    keys = Keys(prefix)

    async def go() -> None:
        r = aioredis.Redis.from_url(redis_url)
        try:
            w = StoreWriter(r, center, keys, 86_400, clock=lambda: now_ms)
            parsed = [parse_event(e) for e in events]
            for i in range(0, len(parsed), 2000):
                await w.apply(parsed[i : i + 2000])
            if heartbeat:
                await r.hset(keys.workers, "w-test", now_ms)
        finally:
            await r.aclose()

    asyncio.run(go())


def beat(client: Any, prefix: str, now_ms: int, worker: str = "w-test") -> None:
    client.hset(Keys(prefix).workers, worker, now_ms)
