"""Shared bits of the end-to-end alert tests: events at wall-clock time, rule files, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.alerts.hook import Hook
from tests.pipeline import Pipeline


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def answered_calls(tenant: str, queue: str, n: int, wait_s: float, tag: str) -> list[dict[str, Any]]:
    """``n`` calls offered ``wait_s`` ago and answered now (events at wall-clock time)."""
    t = now_ms()
    out: list[dict[str, Any]] = []
    for i in range(n):
        cid = f"{tag}-{i}"
        out.append(
            {
                "event_id": f"{cid}-o",
                "type": "call_offered",
                "ts": t - int(wait_s * 1000) - 1000,
                "tenant": tenant,
                "call_id": cid,
                "queue": queue,
            }
        )
        out.append(
            {
                "event_id": f"{cid}-a",
                "type": "call_answered",
                "ts": t - 1000,
                "tenant": tenant,
                "call_id": cid,
                "queue": queue,
                "agent_id": "ag",
                "wait_s": wait_s,
            }
        )
    return out


def offered_calls(tenant: str, queue: str, n: int, tag: str) -> list[dict[str, Any]]:
    t = now_ms()
    return [
        {
            "event_id": f"{tag}-{i}-o",
            "type": "call_offered",
            "ts": t - 500,
            "tenant": tenant,
            "call_id": f"{tag}-{i}",
            "queue": queue,
        }
        for i in range(n)
    ]


def answer(tenant: str, queue: str, n: int, tag: str) -> list[dict[str, Any]]:
    t = now_ms()
    return [
        {
            "event_id": f"{tag}-{i}-a",
            "type": "call_answered",
            "ts": t - 200,
            "tenant": tenant,
            "call_id": f"{tag}-{i}",
            "queue": queue,
            "agent_id": "ag",
            "wait_s": 1,
        }
        for i in range(n)
    ]


def write_rules(path: Path, channels: dict[str, Any], rules: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "channels": channels, "rules": rules}, sort_keys=False))
    return path


def alert_env(rules: Path, **channels: str) -> dict[str, str]:
    """Settings for fast tests: evaluate every 0.5 s, retry after 0.5 s, 1 s send timeout."""
    env = {
        "CALLPULSE_ALERTS_RULES": str(rules),
        "CALLPULSE_ALERTS_INTERVAL_S": "0.5",
        "CALLPULSE_ALERTS_RETRY_BASE_S": "0.5",
        "CALLPULSE_ALERTS_RETRY_MAX_S": "2",
        "CALLPULSE_ALERTS_DELIVERY_TIMEOUT_S": "1",
        "CALLPULSE_ALERTS_DELIVERY_ATTEMPTS": "100",
        "CALLPULSE_DASHBOARD_URL": "http://board.test:8501",
    }
    env.update({f"CALLPULSE_CHANNEL_{k.upper()}": v for k, v in channels.items()})
    return env


def wait_for(cond: Callable[[], Any], timeout: float, what: str, p: Pipeline | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    logs = "\n".join(w.log_tail(30) for w in (p.workers if p else []))
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")


def kinds(hook: Hook, rule: str) -> list[str]:
    """The kinds of messages a hook received for a rule, in order (from the English titles)."""
    out = []
    for m in hook.messages(contains=f"] {rule} ·"):
        title = m["title"]
        out.append("repeat" if title.startswith("STILL FIRING") else title.split(" ", 1)[0].lower())
    return out
