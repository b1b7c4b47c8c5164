"""Real Apprise to a real local endpoint: a timed-out send is recorded and retried, then delivered."""

from __future__ import annotations

from pathlib import Path

import redis as redis_lib

from stream.alerts.deliver import Deliverer
from stream.alerts.state import AlertStore, Outgoing
from stream.keys import Keys
from tests.alerts.hook import Hook
from tests.alerts.test_state import Clock, rules_file

KEYS = Keys("dl")
T0 = 1_795_310_100_000


def test_timeout_then_500_then_delivered(redis_client: redis_lib.Redis, hook: Hook, tmp_path: Path) -> None:
    redis_client.sadd(KEYS.tenants, "t")
    rf = rules_file(tmp_path)
    clock = Clock(T0)
    url = hook.url("a") + "?token=SuperSecretToken"
    d = Deliverer(
        AlertStore(redis_client, KEYS, 100, 3600),
        KEYS,
        rf,
        environ={"CALLPULSE_CHANNEL_A": url},
        env_prefix="CALLPULSE_CHANNEL_",
        now=clock,
        timeout_s=0.5,
        max_attempts=5,
        retry_base_s=1,
        retry_max_s=60,
    )
    body = {
        "channel": "a",
        "rule": "wq",
        "queue": "q",
        "kind": "resolved",
        "en": ["RESOLVED x", "body"],
        "zh": [],
    }
    d.store.enqueue("t", [Outgoing("m1", T0, body)])
    hook.mode, hook.hang_s = "hang", 2.0
    assert d.deliver_due() == 1
    hook.mode = "fail"
    clock.t += 1000
    assert d.deliver_due() == 1
    hook.mode = "ok"
    clock.t += 1999
    assert d.deliver_due() == 0  # backoff: 2 s after the second failure
    clock.t += 1
    assert d.deliver_due() == 1
    timeout, error500 = d.store.failures()[::-1]
    assert (timeout["attempt"], timeout["retry_in_ms"], error500["attempt"], error500["retry_in_ms"]) == (
        1,
        1000,
        2,
        2000,
    )
    assert "SuperSecretToken" not in timeout["error"] + error500["error"]
    assert "500" in error500["error"] or "Internal Server Error" in error500["error"]
    (msg,) = hook.messages(path="a")
    assert (msg["title"], msg["message"], msg["type"]) == ("RESOLVED x", "body", "success")
    assert [x["attempt"] for x in d.store.deliveries("t")] == [3]
    assert len(hook.attempts) == 3
