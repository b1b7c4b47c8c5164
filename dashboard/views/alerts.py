"""Alerts: firing now, history of state changes, notification delivery failures.

Reads what ``stream/alerts`` writes (docs/dashboard.md has the contract); shows nothing when
alerting has written nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import fmt, ui
from dashboard.i18n import t


def render() -> None:
    page = ui.page("al_title")
    if page is None:
        return
    src, tenant, lang = page.src, page.tenant, page.lang
    view = src.alerts_view(tenant)
    tz = src.tenant_cfg(tenant).tz
    queue = st.query_params.get("queue")  # alert messages link to /alerts?tenant=…&queue=…
    if queue:
        st.caption(t("al_only_queue", lang, queue=src.label(tenant, queue)))
        view.firing = [a for a in view.firing if a.queue == queue]
        view.history = [h for h in view.history if h.get("queue") == queue]

    def when(row: dict[str, Any]) -> str:
        return fmt.when(row["ts_ms"], tz, lang) if isinstance(row.get("ts_ms"), int) else ""

    firing = [
        {
            t("al_severity", lang): ("✖ " if a.severity.startswith("crit") else "▲ ") + a.severity,
            t("al_rule", lang): a.rule,
            t("al_queue", lang): a.queue or fmt.DASH,
            t("al_message", lang): a.message(lang),
            t("al_since", lang): fmt.when(a.since_ms, tz, lang) if a.since_ms else fmt.DASH,
        }
        for a in view.firing
    ]
    history = [
        {
            t("al_time", lang): when(h),
            t("al_state", lang): h.get("state", ""),
            t("al_rule", lang): h.get("rule", ""),
            t("al_queue", lang): h.get("queue") or fmt.DASH,
            t("al_severity", lang): h.get("severity", ""),
            t("al_value", lang): h.get("value"),
            t("al_threshold", lang): h.get("threshold"),
        }
        for h in view.history
    ]
    failures = [
        {
            t("al_time", lang): when(f),
            t("al_channel", lang): f.get("channel", ""),
            t("al_rule", lang): f.get("rule", ""),
            t("al_attempt", lang): f.get("attempt"),
            t("al_error", lang): f.get("error", ""),
        }
        for f in view.failures
    ]
    _section(t("al_firing", lang), firing, lambda: st.success(t("al_none", lang)))
    _section(t("al_history", lang), history, lambda: st.caption(t("al_no_history", lang)))
    _section(t("al_failures", lang), failures, lambda: st.caption(t("al_no_failures", lang)))


def _section(title: str, rows: list[dict[str, Any]], empty: Callable[[], object]) -> None:
    """A heading, then the rows as a table, or what to say when there are none."""
    st.subheader(title)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        empty()


if __name__ == "__main__":  # run as a page by st.navigation (dashboard/app.py)
    render()
