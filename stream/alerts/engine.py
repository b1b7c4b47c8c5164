"""One evaluation tick: rules x tenants x queues against the wall board's snapshot, written to Redis.

:class:`Evaluator` glues the pure parts (:mod:`.evaluate`, :mod:`.messages`) to Redis
(:mod:`.state`) and the rules file (:mod:`.rules`). It is synchronous and runs in a worker
thread (Faust timer) or a plain loop (``alerts run``); its clock is injected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from stream.alerts.evaluate import AlertState, Change, Reading, alert_id, read_rule, step, targets
from stream.alerts.messages import AlertFacts, dashboard_link, render
from stream.alerts.rules import Rule, RuleSet, RulesFile
from stream.alerts.state import AlertStore, Outgoing
from stream.config import CenterConfig, TenantConfig
from stream.query import KpiReader

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    evaluated: int = 0  # (rule, queue) pairs looked at
    written: int = 0  # transitions written
    lost: int = 0  # transitions another evaluator made first
    notified: list[str] = field(default_factory=list)  # "<tenant>/<alert id>/<kind>"
    skipped: str | None = None  # why nothing was evaluated ("not_leader", "no_rules")


class Evaluator:
    def __init__(
        self,
        reader: KpiReader,
        store: AlertStore,
        rules_file: RulesFile,
        *,
        now: Callable[[], int],
        owner: str,
        lock_ttl_ms: int,
        dashboard_url: str,
    ) -> None:
        self.reader = reader
        self.store = store
        self.rules_file = rules_file
        self.now = now
        self.owner = owner
        self.lock_ttl_ms = lock_ttl_ms
        self.dashboard_url = dashboard_url

    @property
    def center(self) -> CenterConfig:
        return self.reader.center

    def tick(self) -> TickResult:
        res = TickResult()
        rules = self.rules_file.current()
        if not self.store.hold_lock(self.owner, self.lock_ttl_ms):
            res.skipped = "not_leader"
            return res
        if rules is None:
            res.skipped = "no_rules"
            return res
        now = self.now()
        for tenant in self.reader.tenants():
            self._tenant(tenant, rules, now, res)
        return res

    def _tenant(self, tenant: str, rules: RuleSet, now: int, res: TickResult) -> None:
        chosen = [r for r in rules.rules if r.matches_tenant(tenant)]
        raw_states = self.store.states(tenant)
        if not chosen and not raw_states:
            return
        cfg = self.center.tenant(tenant)
        snap = self.reader.snapshot(tenant, now)
        seen: set[str] = set()
        for rule in chosen:
            for queue, view in targets(rule, cfg, snap):
                aid = alert_id(rule.name, queue)
                seen.add(aid)
                raw = raw_states.get(aid)
                prev = AlertState.from_json(orjson.loads(raw)) if raw else None
                reading = read_rule(rule, cfg, snap, queue, view)
                res.evaluated += 1
                change = step(prev, reading, now, rule.for_s, rule.cooldown_s)
                if change is not None:
                    self._write(tenant, cfg, rules, rule, queue, raw, prev, reading, change, now, res)
        for aid, raw in raw_states.items():
            if aid not in seen:  # rule removed or no longer selecting this queue: close quietly
                prev = AlertState.from_json(orjson.loads(raw))
                rule_name, _, queue = aid.partition("|")
                hist = {
                    "rule": rule_name,
                    "queue": queue,
                    "state": "resolved",
                    "ts_ms": now,
                    "value": prev.value,
                    "threshold": prev.threshold,
                    "severity": None,
                    "tenant": tenant,
                    "was": prev.state,
                    "note": "rule removed or changed",
                }
                self.store.apply(tenant, aid, raw, None, None, hist, [])

    def _facts(
        self,
        kind: str,
        tenant: str,
        rule: Rule,
        queue: str,
        value: Any,
        threshold: float,
        op: str,
        since_ms: int,
        now: int,
    ) -> AlertFacts:
        return AlertFacts(
            kind=kind,
            rule=rule.name,
            severity=rule.severity,
            tenant=tenant,
            queue=queue,
            metric=rule.metric,
            window=rule.effective_window,
            value=value,
            threshold=threshold,
            op=op,
            since_ms=since_ms,
            now_ms=now,
            link=dashboard_link(self.dashboard_url, tenant, queue),
        )

    def _write(
        self,
        tenant: str,
        cfg: TenantConfig,
        rules: RuleSet,
        rule: Rule,
        queue: str,
        raw: bytes | None,
        prev: AlertState | None,
        reading: Reading,
        change: Change,
        now: int,
        res: TickResult,
    ) -> None:
        aid = alert_id(rule.name, queue)
        threshold = reading.threshold if reading.threshold is not None else (prev.threshold if prev else 0.0)
        op = reading.op or rule.op or ">"
        value = reading.value
        texts: dict[str, tuple[str, str]] = {}
        if change.notify is not None or (change.new is not None and change.new.state == "firing"):
            kind = change.notify or "firing"
            facts = self._facts(kind, tenant, rule, queue, value, threshold, op, change.since_ms, now)
            texts = {lang: render(facts, lang, cfg.tz, getattr(rule.message, lang)) for lang in ("en", "zh")}
        firing: dict[str, Any] | None | bool = False
        if change.new is not None and change.new.state == "firing":
            firing = {
                "rule": rule.name,
                "severity": rule.severity,
                "tenant": tenant,
                "queue": queue,
                "metric": rule.metric,
                "window": rule.effective_window,
                "value": value,
                "threshold": threshold,
                "op": op,
                "since_ms": change.since_ms,
                "fired_ms": change.new.fired_ms,
                "state": "firing",
                "message_en": texts["en"][1],
                "message_zh": texts["zh"][1],
            }
        elif change.new is None and prev is not None and prev.state == "firing":
            firing = None
        history = None
        if change.history is not None:
            history = {
                "rule": rule.name,
                "queue": queue,
                "state": change.history,
                "ts_ms": now,
                "value": value,
                "threshold": threshold,
                "severity": rule.severity,
                "tenant": tenant,
                "metric": rule.metric,
            }
            if change.was is not None:
                history["was"] = change.was
        outgoing = []
        if change.notify is not None:
            for ch in rules.channels_of(rule):
                msg_id = f"{aid}|{change.notify}|{now}|{ch}"
                body: dict[str, Any] = {
                    "id": msg_id,
                    "tenant": tenant,
                    "rule": rule.name,
                    "queue": queue,
                    "kind": change.notify,
                    "severity": rule.severity,
                    "channel": ch,
                    "created_ms": now,
                    "en": list(texts["en"]),
                    "zh": list(texts["zh"]),
                }
                outgoing.append(Outgoing(msg_id, now, body))
        new_state = change.new.to_json() if change.new is not None else None
        if self.store.apply(tenant, aid, raw, new_state, firing, history, outgoing):
            res.written += 1
            if change.notify is not None:
                res.notified.append(f"{tenant}/{aid}/{change.notify}")
                log.info(
                    "alert %s %s/%s: %s (value %s, threshold %s %s)",
                    change.notify,
                    tenant,
                    queue,
                    rule.name,
                    value,
                    op,
                    threshold,
                )
        else:
            res.lost += 1
