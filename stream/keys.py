"""Every Redis key of CallPulse: prefixes, TTLs and granularities, in one place (docs/redis.md).

All per-tenant keys carry the hash tag ``{tenant}`` so a tenant's keys share one Redis Cluster
slot and one Lua script can update them atomically. Every bucket expires.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_S = 86_400

#: Interval buckets (15/30/60 min): kept 40 days so "same weekday last week" and a month of
#: interval reports are available.
INTERVAL_TTL_S = 40 * DAY_S
#: Minute buckets feed the rolling windows (5/15/60 min) and sparklines: kept 26 hours.
MINUTE_TTL_S = 26 * 3600
#: Business-day buckets ("today", daily reports): kept 400 days.
DAY_TTL_S = 400 * DAY_S
#: Call records (callers, exits in the waiting sets, exits that came before their offer) needed
#: to track waiting calls and the call-back list whatever the order of arrival: kept 26 hours
#: (a business day and then some) after their last write.
CALL_KEEP_S = 26 * 3600
#: Dedupe markers are grouped in one hash per tenant and UTC hour of event time.
SEEN_BUCKET_MS = 3_600_000
#: Today's abandoned calls and the callers who got through, per business day: kept 8 days.
CALLBACK_TTL_S = 8 * DAY_S
#: Dead-letter bookkeeping: recent rejections shown on the dashboard, and the set of message
#: positions already counted (so a redelivered bad message is counted once).
DLQ_RECENT_MAX = 500
DLQ_SEEN_TTL_S = 2 * DAY_S
#: A call waiting longer than this is taken as lost (its exit event never came): not shown as
#: waiting, and pruned from the waiting sets by the workers' housekeeping timer.
WAITING_STALE_S = 4 * 3600
#: Alert state history kept (alerts module may override per settings).
ALERT_HISTORY_TTL_S = 30 * DAY_S


@dataclass(frozen=True)
class Keys:
    """Key names under a prefix (``CALLPULSE_KEY_PREFIX``, default ``cp``)."""

    prefix: str = "cp"

    def _t(self, tenant: str) -> str:
        return f"{self.prefix}:{{{tenant}}}"

    # -- windowed counters (hashes of integer counters, see stream.kpis) ----------------------
    def interval(self, tenant: str, queue: str, start_ms: int) -> str:
        return f"{self._t(tenant)}:iv:{queue}:{start_ms}"

    def minute(self, tenant: str, queue: str, start_ms: int) -> str:
        return f"{self._t(tenant)}:mn:{queue}:{start_ms}"

    def day(self, tenant: str, queue: str, day_iso: str) -> str:
        return f"{self._t(tenant)}:day:{queue}:{day_iso}"

    # -- indexes and per-tenant metadata ------------------------------------------------------
    def queues(self, tenant: str) -> str:
        """Set of the tenant's queue names seen in events."""
        return f"{self._t(tenant)}:queues"

    def meta(self, tenant: str) -> str:
        """Hash: events (applied), duplicates, last_event_ms (max event time), last_write_ms."""
        return f"{self._t(tenant)}:meta"

    def seen(self, tenant: str, hour: int) -> str:
        """Set of event ids: dedupe markers of the events whose event time falls in one UTC
        hour (``hour`` = ts_ms // SEEN_BUCKET_MS); expires the dedupe horizon after its last write.
        A repeat of an event is the same source event, so it has the same time and hour bucket."""
        return f"{self._t(tenant)}:seen:{hour}"

    # -- live state -----------------------------------------------------------------------------
    def call(self, tenant: str, call_id: str) -> str:
        """Hash of a call whose exit came before its offer: ``ansk``/``ans`` (answered-callers key
        and answer ts) or ``abk``/``abf`` (abandons key and field), for the offer to add its caller."""
        return f"{self._t(tenant)}:call:{call_id}"

    def callers(self, tenant: str, utc_day: int) -> str:
        """Hash call_id -> caller ('' when none) of the calls offered that UTC day (ts // 86,400,000):
        written by the offer, read by the exit."""
        return f"{self._t(tenant)}:callers:{utc_day}"

    def waiting(self, tenant: str, queue: str) -> str:
        """Sorted set, one member per call_id: score = offer ts (ms) while it waits in the queue,
        -(exit ts) after it left (kept CALL_KEEP_S so that a late offer is not counted)."""
        return f"{self._t(tenant)}:wait:{queue}"

    def agents(self, tenant: str) -> str:
        """Hash agent_id -> JSON {state, reason, ts, eid, queues}: the latest state by event time."""
        return f"{self._t(tenant)}:agents"

    def agent_samples(self, tenant: str, minute_ms: int) -> str:
        """Hash of agent counts sampled once a minute by the workers: ``<state>`` (tenant) and
        ``<queue>|<state>``. The store keeps only each agent's latest state, so history is sampled."""
        return f"{self._t(tenant)}:agst:{minute_ms}"

    def abandons(self, tenant: str, day_iso: str) -> str:
        """Hash "call_id|queue" -> JSON {ts, wait_ms, queue, call_id, caller} of the day's abandons."""
        return f"{self._t(tenant)}:abn:{day_iso}"

    def answered_callers(self, tenant: str, day_iso: str) -> str:
        """Sorted set caller, score latest answered ts (ms) of the business day (marks called-back
        callers; ``ZADD GT`` keeps the latest)."""
        return f"{self._t(tenant)}:ansc:{day_iso}"

    # -- global ---------------------------------------------------------------------------------
    @property
    def tenants(self) -> str:
        return f"{self.prefix}:tenants"

    @property
    def workers(self) -> str:
        """Hash worker_id -> last heartbeat (wall ms)."""
        return f"{self.prefix}:workers"

    def offsets(self, topic: str) -> str:
        """Hash partition -> next offset to process (written with each batch; for catch-up)."""
        return f"{self.prefix}:offsets:{topic}"

    @property
    def dlq_counts(self) -> str:
        """Hash reason -> count of rejected events (each counted once)."""
        return f"{self.prefix}:dlq:counts"

    @property
    def dlq_recent(self) -> str:
        """List of the latest rejections as JSON (newest first, capped)."""
        return f"{self.prefix}:dlq:recent"

    def dlq_seen(self, topic: str, partition: int, offset: int, index: int) -> str:
        return f"{self.prefix}:dlq:seen:{topic}:{partition}:{offset}:{index}"

    # -- alerts (owned by stream.alerts) ----------------------------------------------------------
    def alert_prefix(self, tenant: str) -> str:
        return f"{self._t(tenant)}:alert"
