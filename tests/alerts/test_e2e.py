"""Acceptance, end to end: real KPIs through Tansu, a real worker and Redis, real HTTP deliveries.

Events carry wall-clock times (rules read the rolling windows and live state as of now). The
evaluator runs every 0.5 s; rules use short ``for`` and ``cooldown`` values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from stream.alerts.state import AlertKeys, failures_key, lock_key, rules_status_key
from tests.alerts.helpers import (
    alert_env,
    answer,
    answered_calls,
    kinds,
    now_ms,
    offered_calls,
    wait_for,
    write_rules,
)
from tests.alerts.hook import Hook
from tests.pipeline import Pipeline

pytestmark = pytest.mark.slow
MakePipeline = Callable[..., Pipeline]


def history(p: Pipeline, tenant: str) -> list[dict]:
    return [orjson.loads(x) for x in p.redis.lrange(AlertKeys(p.keys, tenant).history, 0, -1)][::-1]


def firing(p: Pipeline, tenant: str) -> dict[str, dict]:
    raw = p.redis.hgetall(AlertKeys(p.keys, tenant).firing)
    return {k.decode(): orjson.loads(v) for k, v in raw.items()}


def test_fires_after_for_repeats_after_cooldown_recovers_once_and_respects_min_volume(
    make_pipeline: MakePipeline, hook: Hook, tmp_path: Path, unique: str
) -> None:
    """Acceptance 1 (and 4 in flight): one message after `for`, one repeat, one recovery."""
    tenant = f"t{unique}"
    rules = write_rules(
        tmp_path / "alerts.yaml",
        {
            "test": {"env": "CALLPULSE_CHANNEL_TEST", "lang": "en"},
            "zh": {"env": "CALLPULSE_CHANNEL_ZH", "lang": "zh"},
        },
        [
            {
                "name": "sl_low",
                "tenants": [tenant],
                "queues": ["sales"],
                "metric": "service_level_15",
                "window": "rolling_5",
                "op": "<",
                "threshold": "80%",
                "for": "2s",
                "cooldown": "6s",
                "min_volume": 4,
                "severity": "critical",
                "channels": ["test", "zh"],
            },
            {
                "name": "quiet_abandons",
                "tenants": [tenant],
                "queues": ["quiet"],
                "metric": "abandon_rate",
                "window": "rolling_5",
                "op": ">",
                "threshold": "5%",
                "for": "0s",
                "min_volume": 50,
                "channels": ["test"],
            },
        ],
    )
    p = make_pipeline(extra_env=alert_env(rules, test=hook.url("en"), zh=hook.url("zh")))
    quiet = [
        {
            "event_id": f"ab{i}",
            "type": "call_abandoned",
            "ts": now_ms() - 1000,
            "tenant": tenant,
            "call_id": f"ab{i}",
            "queue": "quiet",
            "wait_s": 20,
        }
        for i in range(3)
    ]
    p.feed(answered_calls(tenant, "sales", 4, wait_s=30, tag="slow") + quiet)  # SL 0 % of 4 calls

    pending = wait_for(lambda: [h for h in history(p, tenant) if h["state"] == "pending"], 20, "pending", p)[
        0
    ]
    assert hook.messages() == []  # pending: the `for` duration is not over, nothing sent
    wait_for(lambda: kinds(hook, "sl_low"), 20, "the firing message", p)
    first = hook.messages(path="en")[0]
    assert first["_at_ms"] >= pending["ts_ms"] + 2000  # not before `for`
    assert "Service level (15 s) (last 5 min) is 0.0%, threshold < 80.0% (critical)" in first["message"]
    assert f"Where: tenant {tenant}, queue sales" in first["message"]
    assert f"http://board.test:8501/alerts?tenant={tenant}&queue=sales" in first["message"]
    zh = wait_for(lambda: hook.messages(path="zh"), 10, "the zh message", p)[0]
    assert zh["title"].startswith("【告警】sl_low") and "15秒接通率（近5分钟）当前 0.0%" in zh["message"]
    entry = firing(p, tenant)["sl_low|sales"]
    assert {
        k: entry[k] for k in ("rule", "severity", "tenant", "queue", "metric", "value", "threshold", "state")
    } == {
        "rule": "sl_low",
        "severity": "critical",
        "tenant": tenant,
        "queue": "sales",
        "metric": "service_level_15",
        "value": 0.0,
        "threshold": 0.8,
        "state": "firing",
    }
    assert entry["since_ms"] == pending["ts_ms"] and entry["message_en"] and entry["message_zh"]

    # Acceptance 4 while firing: a broken rules file is reported with its line; the old rules go on.
    good_text = rules.read_text()
    bad_text = good_text.replace("threshold: 80%", "threshold: eighty")
    bad_line = bad_text.splitlines().index("  threshold: eighty") + 1
    rules.write_text(bad_text)
    status = wait_for(
        lambda: (s := p.redis.hgetall(rules_status_key(p.keys))) and not orjson.loads(s[b"ok"]) and s,
        10,
        "status",
        p,
    )
    error = orjson.loads(status[b"error"])
    assert f"alerts.yaml line {bad_line}: rules[0].threshold: expected a number" in error, error

    wait_for(lambda: "repeat" in kinds(hook, "sl_low"), 20, "the repeat after the cooldown", p)
    assert kinds(hook, "sl_low") == ["firing", "repeat"]
    p.feed(answered_calls(tenant, "sales", 20, wait_s=3, tag="fast"))  # SL 20/24 = 83 %
    wait_for(lambda: "resolved" in kinds(hook, "sl_low"), 20, "the recovery", p)
    time.sleep(2)  # a few more evaluations: nothing else may arrive
    assert kinds(hook, "sl_low") == ["firing", "repeat", "resolved"]
    assert kinds(hook, "quiet_abandons") == []  # 3 calls < min_volume 50
    assert len(hook.messages(path="zh")) == 3
    assert firing(p, tenant) == {}
    assert [h["state"] for h in history(p, tenant)] == ["pending", "firing", "resolved"]
    assert history(p, tenant)[-1]["value"] == pytest.approx(20 / 24)


def test_restart_and_two_workers_never_resend(
    make_pipeline: MakePipeline, hook: Hook, tmp_path: Path, unique: str
) -> None:
    """Acceptance 2: two evaluating workers send once; a restart while firing sends nothing new."""
    tenant = f"t{unique}"
    rules = write_rules(
        tmp_path / "alerts.yaml",
        {"test": {"env": "CALLPULSE_CHANNEL_TEST"}},
        [
            {
                "name": "long_queue",
                "tenants": [tenant],
                "metric": "waiting",
                "op": ">=",
                "threshold": 3,
                "for": "1s",
                "cooldown": "1h",
                "severity": "critical",
            }
        ],
    )
    p = make_pipeline(workers=2, extra_env=alert_env(rules, test=hook.url()))
    p.feed(offered_calls(tenant, "q", 3, tag="c"))
    wait_for(lambda: kinds(hook, "long_queue"), 30, "the firing message", p)
    time.sleep(2)
    assert kinds(hook, "long_queue") == ["firing"]  # both workers evaluate: one message

    # Crash the evaluating worker and stop the other: the state is in Redis only.
    holder = p.redis.get(lock_key(p.keys)).decode()
    w0, w1 = p.workers
    (w0 if w0.worker_id == holder else w1).kill()
    (w1 if w0.worker_id == holder else w0).stop()
    w2 = p.start_worker()
    wait_for(lambda: p.redis.get(lock_key(p.keys)) == w2.worker_id.encode(), 60, "the restarted evaluator", p)
    time.sleep(3)  # six evaluations by the restarted worker
    assert kinds(hook, "long_queue") == ["firing"]
    assert firing(p, tenant)["long_queue|q"]["value"] == 3

    p.start_worker()  # two workers again for the recovery
    p.feed(answer(tenant, "q", 3, tag="c"))
    wait_for(lambda: "resolved" in kinds(hook, "long_queue"), 30, "the recovery", p)
    time.sleep(2)
    assert kinds(hook, "long_queue") == ["firing", "resolved"]
    assert [h["state"] for h in history(p, tenant)] == ["pending", "firing", "resolved"]


def test_failing_endpoints_are_retried_while_events_keep_flowing(
    make_pipeline: MakePipeline, tmp_path: Path, unique: str
) -> None:
    """Acceptance 3: a 500 endpoint is retried with backoff, and while a send hangs and the other
    fails, a load of events is stored in full; afterwards each channel gets its message once."""
    tenant = f"t{unique}"
    broken, stuck = Hook(), Hook()
    broken.mode, stuck.mode = "fail", "stuck"
    try:
        rules = write_rules(
            tmp_path / "alerts.yaml",
            {"broken": {}, "stuck": {}},
            [{"name": "waiting", "tenants": [tenant], "queues": ["q"], "metric": "waiting", "op": ">=",
              "threshold": 1, "for": "0s", "cooldown": "1h"}],
        )  # fmt: skip
        env = alert_env(rules, broken=broken.url(), stuck=stuck.url())
        env["CALLPULSE_ALERTS_DELIVERY_TIMEOUT_S"] = "30"  # the stuck send stays open all along
        p = make_pipeline(extra_env=env)
        p.feed(offered_calls(tenant, "q", 1, tag="w"))
        wait_for(
            lambda: len(broken.attempts) >= 3 and stuck.inflight == 1, 30, "failing and hanging sends", p
        )

        # While one send hangs and the other keeps failing, push a load of events through.
        n_calls = 1500
        before = len(broken.attempts)
        p.feed(answered_calls(tenant, "load", n_calls, wait_s=5, tag="load"))
        stored = p.reader.rolling(tenant, 5, now_ms(), ["load"])["load"]
        assert (stored["offered"], stored["answered"]) == (n_calls, n_calls)  # every event is in Redis
        assert stuck.inflight == 1 and stuck.received == []  # the hanging send never let go meanwhile
        assert broken.received == []
        assert p.redis.zcard(AlertKeys(p.keys, tenant).outbox) == 2
        wait_for(lambda: len(broken.attempts) > before, 10, "retries continuing", p)

        # Backoff: each failure schedules the next attempt later (0.5 s, 1 s, 2 s, capped at 2 s).
        fails = [orjson.loads(x) for x in p.redis.lrange(failures_key(p.keys), 0, -1)][::-1]
        assert {f["channel"] for f in fails} == {"broken"}
        assert [f["attempt"] for f in fails] == list(range(1, len(fails) + 1))
        assert [f["retry_in_ms"] for f in fails[:4]] == [500, 1000, 2000, 2000][: len(fails[:4])]
        assert "500" in fails[0]["error"] or "Internal Server Error" in fails[0]["error"]
        assert all(
            f["rule"] == "waiting" and not f["gave_up"] and str(broken.port) not in f["error"] for f in fails
        )

        broken.mode = "ok"
        stuck.release()
        wait_for(lambda: broken.received and stuck.received, 30, "delivery after recovery", p)
        time.sleep(1.5)
        assert len(broken.received) == 1 and len(stuck.received) == 1  # each message once
        assert p.redis.zcard(AlertKeys(p.keys, tenant).outbox) == 0
    finally:
        broken.close()
        stuck.close()
