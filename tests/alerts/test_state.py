"""Redis state on the session's private redis-server: lock, compare-and-set transitions, outbox."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from stream.alerts.deliver import Deliverer, DeliveryError
from stream.alerts.engine import Evaluator
from stream.alerts.rules import RulesFile
from stream.alerts.state import AlertStore, Outgoing
from stream.config import CenterConfig
from stream.keys import Keys
from stream.query import KpiReader
from tests.alerts.helpers import write_rules

KEYS = Keys("st")
T0 = 1_795_310_100_000


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


class NoLockStore(AlertStore):
    """Every evaluator believes it holds the lock: only compare-and-set keeps messages single."""

    def hold_lock(self, owner: str, ttl_ms: int) -> bool:
        return True


def setup_waiting(r: redis_lib.Redis, tenant: str, queue: str, n: int, ts: int) -> None:
    r.sadd(KEYS.tenants, tenant)
    r.sadd(KEYS.queues(tenant), queue)
    r.zadd(KEYS.waiting(tenant, queue), {f"c{i}": ts for i in range(n)})


def rules_file(tmp_path: Path) -> RulesFile:
    path = write_rules(
        tmp_path / "r.yaml",
        {"a": {}, "b": {"lang": "zh"}},
        [{"name": "wq", "metric": "waiting", "op": ">=", "threshold": 2, "for": "2s", "cooldown": "10s"}],
    )
    return RulesFile(path)


def evaluator(
    r: redis_lib.Redis, rf: RulesFile, clock: Clock, owner: str, store_cls: type = AlertStore
) -> Evaluator:
    store = store_cls(r, KEYS, 100, 3600)
    reader = KpiReader(r, CenterConfig(), KEYS)
    return Evaluator(reader, store, rf, now=clock, owner=owner, lock_ttl_ms=2000, dashboard_url="http://b")


def outbox(r: redis_lib.Redis, tenant: str) -> list[str]:
    return sorted(m.decode() for m in r.zrange(f"{KEYS.alert_prefix(tenant)}:outbox", 0, -1))


def test_lock_one_evaluator_at_a_time(redis_client: redis_lib.Redis) -> None:
    store = AlertStore(redis_client, KEYS, 100, 3600)
    assert store.hold_lock("a", 200) and store.hold_lock("a", 200)  # take, renew
    assert not store.hold_lock("b", 200)
    store.release_lock("b")  # not the owner: no effect
    assert not store.hold_lock("b", 200)
    store.release_lock("a")
    assert store.hold_lock("b", 200)


def test_lock_holder_evaluates_the_other_skips(redis_client: redis_lib.Redis, tmp_path: Path) -> None:
    setup_waiting(redis_client, "t", "q", 3, T0)
    clock, rf = Clock(T0), rules_file(tmp_path)
    a, b = evaluator(redis_client, rf, clock, "a"), evaluator(redis_client, rf, clock, "b")
    assert a.tick().evaluated == 1
    assert b.tick().skipped == "not_leader"


def test_racing_evaluators_make_each_transition_once(redis_client: redis_lib.Redis, tmp_path: Path) -> None:
    """Without the lock, eight evaluators ticking together still write each transition once."""
    setup_waiting(redis_client, "t", "q", 3, T0)
    clock, rf = Clock(T0), rules_file(tmp_path)
    evs = [evaluator(redis_client, rf, clock, f"e{i}", NoLockStore) for i in range(8)]
    results: list[Any] = []

    def all_tick() -> None:
        barrier = threading.Barrier(len(evs))

        def one(e: Evaluator) -> None:
            barrier.wait()
            results.append(e.tick())

        threads = [threading.Thread(target=one, args=(e,)) for e in evs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    for t in (T0, T0 + 1000, T0 + 2000, T0 + 2500, T0 + 12_000):
        clock.t = t
        all_tick()
    notified = [n for res in results for n in res.notified]
    assert notified == ["t/wq|q/firing", "t/wq|q/repeat"]
    assert outbox(redis_client, "t") == sorted(
        f"wq|q|{kind}|{t}|{ch}" for kind, t in (("firing", T0 + 2000), ("repeat", T0 + 12_000)) for ch in "ab"
    )
    store = AlertStore(redis_client, KEYS, 100, 3600)
    assert [h["state"] for h in store.history("t")] == ["firing", "pending"]  # newest first
    redis_client.delete(KEYS.waiting("t", "q"))
    clock.t = T0 + 13_000
    all_tick()
    assert [n for res in results for n in res.notified][-1] == "t/wq|q/resolved"
    assert sum(n.endswith("/resolved") for res in results for n in res.notified) == 1
    assert store.firing("t") == {}


def test_outbox_claims_are_exclusive(redis_client: redis_lib.Redis) -> None:
    store = AlertStore(redis_client, KEYS, 100, 3600)
    store.enqueue("t", [Outgoing(f"m{i}", T0, {"i": i}) for i in range(60)])
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (c := store.claim("t", T0, 60_000)) is not None:
            with lock:
                got.append(c.msg_id)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(f"m{i}" for i in range(60))  # each once
    assert store.claim("t", T0 + 59_999, 60_000) is None  # leased
    again = store.claim("t", T0 + 60_000, 60_000)  # lease over: a dead sender's message returns
    assert again is not None and again.attempt == 2


def make_deliverer(
    r: redis_lib.Redis, rf: RulesFile, clock: Clock, sender: Any, attempts: int = 3
) -> Deliverer:
    store = AlertStore(r, KEYS, 100, 3600)
    env = {
        "CALLPULSE_CHANNEL_A": "json://user:hunter2secret@127.0.0.1:9/x",
        "CALLPULSE_CHANNEL_B": "json://h/y",
    }
    return Deliverer(
        store, KEYS, rf, environ=env, env_prefix="CALLPULSE_CHANNEL_", now=clock, timeout_s=1,
        max_attempts=attempts, retry_base_s=1, retry_max_s=3, sender=sender,
    )  # fmt: skip


def test_retries_with_backoff_then_gives_up(redis_client: redis_lib.Redis, tmp_path: Path) -> None:
    redis_client.sadd(KEYS.tenants, "t")
    clock, rf = Clock(T0), rules_file(tmp_path)

    def failing(url: str, *_: Any) -> None:
        raise DeliveryError(f"POST {url} answered 500")

    d = make_deliverer(redis_client, rf, clock, failing)
    body = {"channel": "a", "rule": "wq", "queue": "q", "kind": "firing", "en": ["t", "b"], "zh": ["t", "b"]}
    d.store.enqueue("t", [Outgoing("m1", T0, body)])
    assert d.deliver_due() == 1
    assert d.deliver_due() == 0  # not due before the backoff
    clock.t += 1000
    assert d.deliver_due() == 1
    clock.t += 1999
    assert d.deliver_due() == 0
    clock.t += 1
    assert d.deliver_due() == 1
    fails = d.store.failures()[::-1]
    assert [(f["attempt"], f["retry_in_ms"], f["gave_up"]) for f in fails] == [
        (1, 1000, False), (2, 2000, False), (3, None, True),
    ]  # fmt: skip
    assert all("hunter2secret" not in f["error"] and "***" in f["error"] for f in fails)  # secret masked
    assert d.store.outbox_size("t") == 0 and d.backoff_s(10) == 3


def test_success_is_recorded_and_language_follows_the_channel(
    redis_client: redis_lib.Redis, tmp_path: Path
) -> None:
    redis_client.sadd(KEYS.tenants, "t")
    clock, rf = Clock(T0), rules_file(tmp_path)
    sent: list[tuple[str, str]] = []
    d = make_deliverer(
        redis_client, rf, clock, lambda url, title, body, kind, timeout: sent.append((url, title))
    )
    for ch in "ab":
        body = {
            "channel": ch,
            "rule": "wq",
            "queue": "q",
            "kind": "firing",
            "en": ["EN", "b"],
            "zh": ["ZH", "b"],
        }
        d.store.enqueue("t", [Outgoing(f"m-{ch}", T0, body)])
    assert d.deliver_due() == 2
    assert sorted(t for _, t in sent) == ["EN", "ZH"]
    assert {x["id"] for x in d.store.deliveries("t")} == {"m-a", "m-b"}


def test_unknown_or_unset_channel_is_a_failure(redis_client: redis_lib.Redis, tmp_path: Path) -> None:
    d = make_deliverer(redis_client, rules_file(tmp_path), Clock(T0), lambda *_: None)
    d.environ = {}
    with pytest.raises(DeliveryError, match="CALLPULSE_CHANNEL_A is not set"):
        d.send_test("a")
    with pytest.raises(DeliveryError, match="'nope' is not declared"):
        d.send_test("nope")
