"""Synthetic call streams for fault tests and benchmarks: whole calls, time-ordered, seeded."""

from __future__ import annotations

import random
from typing import Any


def synthetic_calls(
    n_calls: int,
    tenant: str,
    *,
    seed: int = 7,
    t0: int = 1_795_305_600_000,
    queues: tuple[str, ...] = ("general", "billing", "vip", "tech"),
    spread_ms: int = 4 * 3_600_000,
) -> list[dict[str, Any]]:
    """About 3.5 events per call (offer, exit, end, wrap-up; agent states aside), in time order."""
    rnd = random.Random(seed)
    events: list[tuple[int, int, dict[str, Any]]] = []
    seq = 0

    def add(ts: int, **ev: Any) -> None:
        nonlocal seq
        seq += 1
        events.append((ts, seq, {"event_id": f"{tenant}-{seq}", "ts": ts, "tenant": tenant, **ev}))

    for i in range(n_calls):
        cid, q = f"c{i}", rnd.choice(queues)
        t = t0 + rnd.randrange(spread_ms)
        wait = int(rnd.expovariate(1 / 20_000))
        add(t, type="call_offered", call_id=cid, queue=q, caller=f"p{rnd.randrange(n_calls)}")
        r = rnd.random()
        if r < 0.8:
            agent = f"a{rnd.randrange(50)}"
            add(t + wait, type="call_answered", call_id=cid, queue=q, agent_id=agent, wait_s=wait / 1000)
            talk = int(rnd.lognormvariate(12, 0.5))
            add(
                t + wait + talk,
                type="call_ended",
                call_id=cid,
                queue=q,
                agent_id=agent,
                talk_s=talk / 1000,
                hold_s=rnd.choice([0, 0, 15.5]),
            )
            if rnd.random() < 0.9:
                add(
                    t + wait + talk + 30_000,
                    type="wrapup_ended",
                    call_id=cid,
                    queue=q,
                    agent_id=agent,
                    acw_s=30,
                )
        elif r < 0.95:
            add(t + wait, type="call_abandoned", call_id=cid, queue=q, wait_s=wait / 1000)
        else:
            add(
                t + wait, type="call_overflowed", call_id=cid, queue=q, wait_s=wait / 1000, to_queue="general"
            )
    events.sort(key=lambda x: (x[0], x[1]))
    return [e for _, _, e in events]
