"""Acceptance: SIGKILL a worker (several times), or one of two workers, or Redis itself, in the
middle of a stream; after recovery the KPIs are identical to an undisturbed run.

The undisturbed run is the session pipeline fed the same calls under another tenant name; both
are also checked against the in-memory fold. Kafka redelivers what was not committed, the
event-id dedupe in Redis absorbs it, and the worker waits out a Redis outage without acking.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from stream.embedded import Proc, restart_redis, start_redis
from tests.pipeline import Pipeline
from tests.streams import synthetic_calls

N_CALLS = 4000  # ~14,000 events


def rows_without_tenant(p: Pipeline, tenant: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "tenant"} for r in p.intervals(tenant)]


@pytest.fixture(scope="module")
def undisturbed(pipeline: Pipeline) -> list[dict[str, Any]]:
    pipeline.feed(synthetic_calls(N_CALLS, "calm"), batch=1)
    rows = rows_without_tenant(pipeline, "calm")
    assert sum(r["offered"] for r in rows) == N_CALLS
    return rows


class Feeder(threading.Thread):
    """Publishes a stream in chunks with small pauses, so that faults land mid-stream."""

    def __init__(self, p: Pipeline, events: list[dict[str, Any]], chunk: int = 700) -> None:
        super().__init__(daemon=True)
        self.p, self.events, self.chunk = p, events, chunk
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(0, len(self.events), self.chunk):
                self.p.publish(self.events[i : i + self.chunk])
                self.sent = i + self.chunk
                time.sleep(0.15)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e


def processed(p: Pipeline, tenant: str) -> int:
    return int(p.redis.hget(p.keys.meta(tenant), "events") or 0)


def wait_progress(p: Pipeline, tenant: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while processed(p, tenant) < at_least:
        assert time.monotonic() < deadline, f"no progress past {processed(p, tenant)} events"
        time.sleep(0.05)


@pytest.mark.slow
def test_worker_sigkilled_three_times(make_pipeline, undisturbed: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = make_pipeline()
    events = synthetic_calls(N_CALLS, "kill")
    rnd = random.Random(11)
    feeder = Feeder(p, events)
    feeder.start()
    for _ in range(3):
        wait_progress(p, "kill", processed(p, "kill") + rnd.randint(200, 2500))
        p.workers[-1].kill()  # SIGKILL: no commit, no goodbye
        p.start_worker()
    feeder.join()
    assert feeder.error is None
    p.wait_caught_up(timeout=120)
    assert rows_without_tenant(p, "kill") == undisturbed
    assert processed(p, "kill") == len(events)


@pytest.mark.slow
def test_one_of_two_workers_killed(make_pipeline, undisturbed: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    p: Pipeline = make_pipeline(workers=2, partitions=8)
    events = synthetic_calls(N_CALLS, "pair")
    feeder = Feeder(p, events)
    feeder.start()
    wait_progress(p, "pair", len(events) // 3)
    p.workers[0].kill()  # the survivor takes over its partitions
    feeder.join()
    assert feeder.error is None
    p.wait_caught_up(timeout=120)
    assert rows_without_tenant(p, "pair") == undisturbed
    assert processed(p, "pair") == len(events)


@pytest.mark.slow
def test_redis_sigkilled_and_restarted_from_its_append_only_file(
    tansu: Proc, tmp_path, undisturbed: list[dict[str, Any]]
) -> None:  # type: ignore[no-untyped-def]
    redis = start_redis(data_dir=tmp_path / "redis", appendonly=True)
    p = Pipeline(tansu, redis, workdir=tmp_path)
    try:
        p.start_worker()
        events = synthetic_calls(N_CALLS, "aof")
        feeder = Feeder(p, events)
        feeder.start()
        wait_progress(p, "aof", len(events) // 3)
        redis.kill()  # SIGKILL mid-stream: the worker must wait, not drop or double count
        time.sleep(1.0)
        redis = restart_redis(redis)
        p.redis.connection_pool.disconnect()
        feeder.join()
        assert feeder.error is None
        p.wait_caught_up(timeout=120)
        assert rows_without_tenant(p, "aof") == undisturbed
        assert processed(p, "aof") == len(events)
        assert "redis unavailable" in p.workers[0].log_tail(400)
    finally:
        p.stop()
        redis.stop()
