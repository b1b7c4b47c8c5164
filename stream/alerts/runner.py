"""Wiring: the alert evaluator and the delivery pump inside a Faust worker, or standalone.

In the worker (:func:`install_alerts`, called by ``stream.app`` when ``CALLPULSE_ALERTS_RULES``
is set) two timers run:

* ``alerts-evaluate`` every ``CALLPULSE_ALERTS_INTERVAL_S`` (default 5 s): one
  :meth:`Evaluator.tick` in a dedicated thread. Every worker runs the timer; the Redis lock lets
  one of them evaluate, and atomic transitions make a double evaluation harmless anyway.
* ``alerts-deliver`` twice a second: hands a "send what is due" job to a thread pool of
  ``CALLPULSE_ALERTS_DELIVERY_CONCURRENCY`` threads and returns at once. The event loop never
  waits for a chat service, so a slow or dead endpoint cannot delay KPIs.

``python -m stream alerts run`` runs the same two loops without Faust: a watchdog outside the
workers, the only way to announce "stream heartbeat lost" when every worker is down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis as redis_lib

from stream.alerts.deliver import Deliverer
from stream.alerts.engine import Evaluator
from stream.alerts.rules import RulesFile
from stream.alerts.state import AlertStore
from stream.config import REDIS_OPTIONS, Settings
from stream.keys import Keys
from stream.query import KpiReader

log = logging.getLogger(__name__)

DELIVERY_POLL_S = 0.5


def sync_redis(settings: Settings) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(settings.redis_url.get_secret_value(), **REDIS_OPTIONS)


@dataclass
class AlertsPart:
    rules_file: RulesFile
    store: AlertStore
    evaluator: Evaluator
    deliverer: Deliverer


def build(
    settings: Settings,
    keys: Keys,
    now: Callable[[], int],
    environ: Mapping[str, str] | None = None,
    client: redis_lib.Redis | None = None,
) -> AlertsPart:
    """Everything the alert part needs, from the settings (``environ``: where channel URLs are)."""
    if settings.alerts_rules is None:
        msg = "CALLPULSE_ALERTS_RULES is not set"
        raise ValueError(msg)
    client = client or sync_redis(settings)
    store = AlertStore(client, keys, settings.alerts_history_max, settings.alerts_history_ttl_s)

    def on_change(rf: RulesFile) -> None:
        status = {
            "path": str(rf.path),
            "ok": rf.error is None,
            "error": rf.error,
            "version": rf.version,
            "rules": [r.name for r in rf.rules.rules] if rf.rules else [],
            "checked_ms": now(),
            "worker": settings.worker_id,
        }
        try:
            store.set_rules_status(status)
        except redis_lib.RedisError as e:
            log.warning("could not record the rules status: %s", e)

    rules_file = RulesFile(settings.alerts_rules, on_change=on_change)
    reader = KpiReader(client, settings.center, keys)
    lock_ttl_ms = int(max(3 * settings.alerts_interval_s, 2.0) * 1000)
    evaluator = Evaluator(
        reader,
        store,
        rules_file,
        now=now,
        owner=settings.worker_id,
        lock_ttl_ms=lock_ttl_ms,
        dashboard_url=settings.dashboard_url,
    )
    deliverer = Deliverer(
        store,
        keys,
        rules_file,
        environ=environ if environ is not None else os.environ,
        env_prefix=settings.alerts_channel_env_prefix,
        now=now,
        timeout_s=settings.alerts_delivery_timeout_s,
        max_attempts=settings.alerts_delivery_attempts,
        retry_base_s=settings.alerts_retry_base_s,
        retry_max_s=settings.alerts_retry_max_s,
    )
    return AlertsPart(rules_file, store, evaluator, deliverer)


class DeliveryPump:
    """Starts delivery jobs in a thread pool without waiting for them (at most ``slots`` at once)."""

    def __init__(self, deliverer: Deliverer, slots: int) -> None:
        self.deliverer = deliverer
        self.slots = slots
        self.pool = ThreadPoolExecutor(slots, thread_name_prefix="callpulse-alert-send")
        self.inflight: set[Future[Any]] = set()

    def _job(self) -> int:
        try:
            return self.deliverer.deliver_due()
        except Exception:  # noqa: BLE001 - e.g. Redis down: try again on the next poll
            log.exception("alert delivery failed")
            return 0

    def poll(self) -> None:
        self.inflight = {f for f in self.inflight if not f.done()}
        if len(self.inflight) < self.slots:
            self.inflight.add(self.pool.submit(self._job))

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def install_alerts(app: Any, settings: Settings, keys: Keys) -> AlertsPart:
    """Add the evaluation and delivery timers to the Faust app."""
    from stream.app import wall_ms

    part = build(settings, keys, wall_ms)
    eval_pool = ThreadPoolExecutor(1, thread_name_prefix="callpulse-alert-eval")
    pump = DeliveryPump(part.deliverer, settings.alerts_delivery_concurrency)

    @app.timer(interval=settings.alerts_interval_s, name="alerts-evaluate")
    async def alerts_evaluate() -> None:
        try:
            res = await asyncio.get_running_loop().run_in_executor(eval_pool, part.evaluator.tick)
        except Exception:  # noqa: BLE001 - a failed tick must never stop the worker
            log.exception("alert evaluation failed")
            return
        if res.notified or res.lost:
            log.info(
                "alert tick: %d evaluated, %d written, %d lost, notified %s",
                res.evaluated,
                res.written,
                res.lost,
                res.notified,
            )

    @app.timer(interval=min(DELIVERY_POLL_S, settings.alerts_interval_s), name="alerts-deliver")
    async def alerts_deliver() -> None:
        pump.poll()  # only submits work: returns at once

    app.callpulse_alerts = part  # for tests and metrics
    return part


def run_standalone(settings: Settings, keys: Keys, now: Callable[[], int], stop: threading.Event) -> None:
    """The evaluator and the deliverer in a plain loop until ``stop`` is set (``alerts run``)."""
    part = build(settings, keys, now)
    pump = DeliveryPump(part.deliverer, settings.alerts_delivery_concurrency)
    next_eval = 0.0
    clock = 0.0
    try:
        while not stop.is_set():
            if clock >= next_eval:
                try:
                    part.evaluator.tick()
                except Exception:  # noqa: BLE001
                    log.exception("alert evaluation failed")
                next_eval = clock + settings.alerts_interval_s
            pump.poll()
            poll = min(DELIVERY_POLL_S, settings.alerts_interval_s)
            stop.wait(poll)
            clock += poll
    finally:
        part.store.release_lock(settings.worker_id)
        pump.shutdown()
