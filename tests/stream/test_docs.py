"""The docs say what the code does: every KPI is in docs/kpis.md, every reason in docs/events.md,
every key kind in docs/redis.md, every setting in the README."""

from __future__ import annotations

from pathlib import Path

from stream.config import Settings
from stream.events import REASONS
from stream.keys import Keys
from stream.kpis import DEFINITIONS

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_kpi_is_documented() -> None:
    text = (ROOT / "docs/kpis.md").read_text()
    for key, _en, zh, _formula in DEFINITIONS:
        assert f"`{key}`" in text, key
        assert zh in text, zh


def test_every_rejection_reason_is_documented() -> None:
    text = (ROOT / "docs/events.md").read_text()
    for reason in REASONS:
        assert f"`{reason}`" in text, reason


def test_every_key_kind_is_documented() -> None:
    text = (ROOT / "docs/redis.md").read_text()
    k = Keys("cp")
    samples = [
        k.interval("t", "q", 1),
        k.minute("t", "q", 1),
        k.day("t", "q", "d"),
        k.queues("t"),
        k.meta("t"),
        k.seen("t", 0),
        k.call("t", "c"),
        k.callers("t", 0),
        k.waiting("t", "q"),
        k.agents("t"),
        k.agent_samples("t", 1),
        k.abandons("t", "d"),
        k.answered_callers("t", "d"),
        k.tenants,
        k.workers,
        k.offsets("x"),
        k.dlq_counts,
        k.dlq_recent,
    ]
    for key in samples:
        parts = key.split(":")
        # per-tenant keys: cp:{t}:kind ; global keys: cp:kind
        stem = ":".join(parts[:3]) if parts[1] == "{t}" else ":".join(parts[:2])
        assert f"`{stem}" in text, key


def test_every_setting_is_in_the_readme() -> None:
    text = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"CALLPULSE_{name.upper()}" in text, name
