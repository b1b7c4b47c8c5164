"""Real-source adapters: what a call center's switch emits -> canonical v1 events in Kafka.

* :mod:`sources.queue_log` — Asterisk / FreePBX ``queue_log`` lines (import and ``tail -F`` follow,
  :mod:`sources.follow`).
* :mod:`sources.cdr` — per-call CSV exports with a YAML column mapping (:mod:`sources.cdr_mapping`).
* :mod:`sources.ingest` — ``POST /events`` HTTP push endpoint (JSON or NDJSON, bearer token per
  tenant).

Every adapter derives ``event_id`` deterministically from its input (:func:`sources.common.event_id`),
so importing the same data twice, or replaying after a crash, never counts anything twice: the worker
dedupes by ``event_id``. ``docs/sources.md`` tells an operator how to connect each source.
"""
